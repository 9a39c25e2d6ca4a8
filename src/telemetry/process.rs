//! The process's own figures under the names Prometheus' client libraries give them, read from
//! `/proc/self` at each scrape (Linux; elsewhere they are left out): CPU time, memory, file
//! descriptors and start time.

use super::text::Family;

/// Clock ticks per second of the times in `/proc/self/stat` (`USER_HZ`, fixed at 100 for
/// programs on Linux whatever the kernel's own tick rate).
const TICKS_PER_SECOND: f64 = 100.0;

/// Figures of one process.
#[derive(Debug, Default, PartialEq)]
struct Figures {
    cpu_seconds: Option<f64>,
    start_time_seconds: Option<f64>,
    resident_memory_bytes: Option<f64>,
    virtual_memory_bytes: Option<f64>,
    open_fds: Option<f64>,
    max_fds: Option<f64>,
}

/// Append this process's figures to `out`.
pub(super) fn render(out: &mut String) {
    let read = |path: &str| std::fs::read_to_string(path).ok();
    let mut figures = Figures::default();
    if let Some(stat) = read("/proc/self/stat") {
        let boot_time = read("/proc/stat").and_then(|s| boot_time(&s));
        from_stat(&stat, boot_time, &mut figures);
    }
    if let Some(status) = read("/proc/self/status") {
        figures.resident_memory_bytes = kilobytes(&status, "VmRSS:");
        figures.virtual_memory_bytes = kilobytes(&status, "VmSize:");
    }
    figures.open_fds = std::fs::read_dir("/proc/self/fd")
        .ok()
        .map(|entries| entries.count() as f64);
    figures.max_fds = read("/proc/self/limits").and_then(|l| max_open_files(&l));
    write(out, &figures);
}

fn write(out: &mut String, figures: &Figures) {
    let families: [(&'static str, &str, &str, Option<f64>); 6] = [
        (
            "process_cpu_seconds_total",
            "counter",
            "Total user and system CPU time spent in seconds.",
            figures.cpu_seconds,
        ),
        (
            "process_start_time_seconds",
            "gauge",
            "Start time of the process since unix epoch in seconds.",
            figures.start_time_seconds,
        ),
        (
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
            figures.resident_memory_bytes,
        ),
        (
            "process_virtual_memory_bytes",
            "gauge",
            "Virtual memory size in bytes.",
            figures.virtual_memory_bytes,
        ),
        (
            "process_open_fds",
            "gauge",
            "Number of open file descriptors.",
            figures.open_fds,
        ),
        (
            "process_max_fds",
            "gauge",
            "Maximum number of open file descriptors.",
            figures.max_fds,
        ),
    ];
    for (name, kind, help, value) in families {
        if let Some(value) = value {
            Family::new(out, name, kind, help).sample(&[], value);
        }
    }
}

/// CPU time and start time from `/proc/self/stat`. The fields are counted after the command
/// name's closing parenthesis, since the name itself may hold spaces.
fn from_stat(stat: &str, boot_time: Option<f64>, figures: &mut Figures) {
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return;
    };
    // `rest` starts with field 3 (state); utime is field 14, stime 15, starttime 22.
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<f64>().ok());
    if let (Some(user), Some(system)) = (field(14), field(15)) {
        figures.cpu_seconds = Some((user + system) / TICKS_PER_SECOND);
    }
    if let (Some(start), Some(boot)) = (field(22), boot_time) {
        figures.start_time_seconds = Some(boot + start / TICKS_PER_SECOND);
    }
}

/// The boot time (seconds since the epoch) from `/proc/stat`.
fn boot_time(stat: &str) -> Option<f64> {
    stat.lines()
        .find_map(|line| line.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

/// A `Key:   1234 kB` line of `/proc/self/status`, in bytes.
fn kilobytes(status: &str, key: &str) -> Option<f64> {
    let line = status.lines().find_map(|line| line.strip_prefix(key))?;
    let kb: f64 = line.split_whitespace().next()?.parse().ok()?;
    Some(kb * 1024.0)
}

/// The soft limit of open files from `/proc/self/limits`; none when unlimited.
fn max_open_files(limits: &str) -> Option<f64> {
    let line = limits
        .lines()
        .find_map(|line| line.strip_prefix("Max open files"))?;
    line.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_from_proc_files() {
        let stat = "4242 (fulcrum (x) y) S 1 4242 4242 0 -1 4194560 1 0 0 0 250 150 0 0 20 0 \
                    5 0 123400 104857600 2000 18446744073709551615";
        let mut figures = Figures::default();
        from_stat(
            stat,
            boot_time("cpu 1 2 3\nbtime 1700000000\n"),
            &mut figures,
        );
        assert_eq!(figures.cpu_seconds, Some(4.0));
        assert_eq!(figures.start_time_seconds, Some(1_700_001_234.0));
        let status = "Name:\tfulcrum\nVmSize:\t  102400 kB\nVmRSS:\t    8000 kB\n";
        assert_eq!(kilobytes(status, "VmRSS:"), Some(8_192_000.0));
        assert_eq!(kilobytes(status, "VmSize:"), Some(104_857_600.0));
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max open files            1024                 524288               files\n";
        assert_eq!(max_open_files(limits), Some(1024.0));
    }

    #[test]
    fn this_process_has_figures() {
        let mut out = String::new();
        render(&mut out);
        for name in [
            "process_cpu_seconds_total",
            "process_start_time_seconds",
            "process_resident_memory_bytes",
            "process_open_fds",
        ] {
            assert!(out.contains(&format!("\n{name} ")), "{name} in {out}");
        }
    }
}
