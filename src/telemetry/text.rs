//! Writing metric families in Prometheus' text exposition format, for the figures taken at each
//! scrape (they are snapshots, not events, so they bypass the recorder: a label set that vanished
//! since the last scrape simply is not written).

use std::fmt::Write;

/// One metric family: its `HELP` and `TYPE` lines, then its samples.
pub(super) struct Family<'a> {
    out: &'a mut String,
    name: &'static str,
}

impl<'a> Family<'a> {
    /// Start a family of `kind` (`gauge` or `counter`) named `name`.
    pub fn new(out: &'a mut String, name: &'static str, kind: &str, help: &str) -> Self {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        Family { out, name }
    }

    /// A sample with `labels`.
    pub fn sample(&mut self, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(self.name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (name, value)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{name}=\"{}\"", escape(value));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }
}

/// A label value with `\`, `"` and line feeds escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_and_escaped_labels() {
        let mut out = String::new();
        let mut family = Family::new(&mut out, "fulcrum_things", "gauge", "Things.");
        family.sample(&[], 1.0);
        family.sample(&[("name", "a \"b\"\\c\nd"), ("kind", "x")], 2.5);
        assert_eq!(
            out,
            "# HELP fulcrum_things Things.\n# TYPE fulcrum_things gauge\nfulcrum_things 1\n\
             fulcrum_things{name=\"a \\\"b\\\"\\\\c\\nd\",kind=\"x\"} 2.5\n"
        );
    }
}
