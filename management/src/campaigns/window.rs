//! Maintenance windows: when a campaign may start devices, in UTC. A window is
//! `[days] HH:MM-HH:MM`, where days is a comma list of days or day ranges (`sat,sun`,
//! `mon-fri`) and every day when left out; a window whose end is before its start runs over
//! midnight into the next day, and one whose end equals its start lasts the whole day. A device
//! already started finishes its change after its window closes; only starts wait.

use time::OffsetDateTime;

/// Why a window does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("window {window:?}: {reason} (write it as \"sat,sun 01:00-05:00\" or \"22:00-02:00\").")]
pub struct WindowError {
    window: String,
    reason: String,
}

/// One window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// The days it opens on, Monday first.
    days: [bool; 7],
    /// When it opens, in minutes after midnight.
    start: u32,
    /// When it closes, in minutes after midnight.
    end: u32,
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn day(name: &str) -> Option<usize> {
    DAYS.iter().position(|d| *d == name.to_ascii_lowercase())
}

fn minutes(text: &str) -> Option<u32> {
    let (hours, mins) = text.split_once(':')?;
    let (hours, mins): (u32, u32) = (hours.parse().ok()?, mins.parse().ok()?);
    (hours < 24 && mins < 60 && text.len() == 5).then_some(hours * 60 + mins)
}

impl Window {
    /// Parse a window.
    pub fn parse(text: &str) -> Result<Window, WindowError> {
        let fail = |reason: &str| WindowError {
            window: text.to_owned(),
            reason: reason.to_owned(),
        };
        let parts: Vec<&str> = text.split_whitespace().collect();
        let (days_text, times) = match parts.as_slice() {
            [times] => (None, *times),
            [days, times] => (Some(*days), *times),
            _ => return Err(fail("expected days and a time range")),
        };
        let mut days = [days_text.is_none(); 7];
        for item in days_text
            .unwrap_or_default()
            .split(',')
            .filter(|i| !i.is_empty())
        {
            let (first, last) = item.split_once('-').unwrap_or((item, item));
            let (first, last) = match (day(first), day(last)) {
                (Some(first), Some(last)) => (first, last),
                _ => return Err(fail("days are mon, tue, wed, thu, fri, sat, sun")),
            };
            let mut at = first;
            loop {
                days[at] = true;
                if at == last {
                    break;
                }
                at = (at + 1) % 7;
            }
        }
        let (start, end) = times
            .split_once('-')
            .and_then(|(start, end)| Some((minutes(start)?, minutes(end)?)))
            .ok_or_else(|| fail("the time range is HH:MM-HH:MM"))?;
        Ok(Window { days, start, end })
    }

    /// Whether the window is open at `at` (taken in UTC).
    pub fn contains(&self, at: OffsetDateTime) -> bool {
        let at = at.to_offset(time::UtcOffset::UTC);
        let today = at.weekday().number_days_from_monday() as usize;
        let yesterday = (today + 6) % 7;
        let minute = u32::from(at.hour()) * 60 + u32::from(at.minute());
        match self.start.cmp(&self.end) {
            std::cmp::Ordering::Less => {
                self.days[today] && (self.start..self.end).contains(&minute)
            }
            std::cmp::Ordering::Greater => {
                (self.days[today] && minute >= self.start)
                    || (self.days[yesterday] && minute < self.end)
            }
            std::cmp::Ordering::Equal => self.days[today],
        }
    }
}

/// Whether devices may start at `at` under `windows` (always, when there are none). Windows
/// that do not parse were refused when the policy was made, and count as closed here.
pub fn open(windows: &[String], at: OffsetDateTime) -> bool {
    windows.is_empty()
        || windows
            .iter()
            .filter_map(|w| Window::parse(w).ok())
            .any(|w| w.contains(at))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_weekend_night_window_opens_only_then() {
        let window = Window::parse("sat,sun 01:00-05:00").unwrap();
        // 2026-11-28 is a Saturday.
        assert!(window.contains(datetime!(2026-11-28 01:00 UTC)));
        assert!(window.contains(datetime!(2026-11-29 04:59 UTC)));
        assert!(!window.contains(datetime!(2026-11-28 05:00 UTC)));
        assert!(!window.contains(datetime!(2026-11-30 02:00 UTC)), "Monday");
    }

    #[test]
    fn a_window_over_midnight_belongs_to_the_day_it_opens() {
        let window = Window::parse("fri 22:00-02:00").unwrap();
        assert!(
            window.contains(datetime!(2026-11-27 23:30 UTC)),
            "Friday night"
        );
        assert!(
            window.contains(datetime!(2026-11-28 01:59 UTC)),
            "into Saturday"
        );
        assert!(
            !window.contains(datetime!(2026-11-28 22:30 UTC)),
            "Saturday night"
        );
        assert!(
            !window.contains(datetime!(2026-11-27 01:00 UTC)),
            "Friday early"
        );
    }

    #[test]
    fn day_ranges_wrap_and_no_days_means_every_day() {
        let window = Window::parse("sat-mon 00:00-00:00").unwrap();
        assert!(window.contains(datetime!(2026-11-30 12:00 UTC)), "Monday");
        assert!(!window.contains(datetime!(2026-12-01 12:00 UTC)), "Tuesday");
        let daily = Window::parse("10:00-11:00").unwrap();
        assert!(daily.contains(datetime!(2026-12-01 10:30 UTC)));
        assert!(open(&[], datetime!(2026-12-01 03:00 UTC)));
        assert!(!open(
            &["10:00-11:00".into()],
            datetime!(2026-12-01 03:00 UTC)
        ));
    }

    #[test]
    fn malformed_windows_are_refused_with_the_expected_form() {
        for bad in [
            "",
            "sat",
            "funday 01:00-02:00",
            "25:00-26:00",
            "1:00-2:00",
            "a b c",
        ] {
            let error = Window::parse(bad).unwrap_err().to_string();
            assert!(error.contains("sat,sun 01:00-05:00"), "{bad}: {error}");
        }
    }
}
