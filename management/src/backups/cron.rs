//! Backup schedules in cron syntax: five fields (minute, hour, day of month, month, day of week),
//! each `*`, a number, a range `a-b`, a list `a,b,c`, or any of these with a step (`*/15`,
//! `1-30/2`); days of week 0–7 with 0 and 7 both Sunday. As in cron, when both the day of month
//! and the day of week are restricted, a day matching either one is due. Times are UTC.

use time::{Duration, OffsetDateTime, Time};

/// A parsed schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    days_restricted: bool,
    weekdays_restricted: bool,
}

/// Why a schedule was refused: the field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid schedule {expression:?}: {reason}")]
pub struct CronError {
    expression: String,
    reason: String,
}

impl Schedule {
    /// Parse a five-field expression.
    pub fn parse(expression: &str) -> Result<Schedule, CronError> {
        let refuse = |reason: String| CronError {
            expression: expression.to_owned(),
            reason,
        };
        let fields: Vec<&str> = expression.split_whitespace().collect();
        let [minute, hour, day, month, weekday] = fields[..] else {
            return Err(refuse(format!(
                "expected 5 fields (minute hour day-of-month month day-of-week), found {}",
                fields.len()
            )));
        };
        let field = |text: &str, name: &str, min: u32, max: u32| {
            parse_field(text, min, max).map_err(|reason| refuse(format!("{name}: {reason}")))
        };
        let mut weekdays = field(weekday, "day of week", 0, 7)?;
        if weekdays & (1 << 7) != 0 {
            weekdays |= 1;
        }
        Ok(Schedule {
            minutes: field(minute, "minute", 0, 59)?,
            hours: field(hour, "hour", 0, 23)?,
            days: field(day, "day of month", 1, 31)?,
            months: field(month, "month", 1, 12)?,
            weekdays,
            days_restricted: day != "*",
            weekdays_restricted: weekday != "*",
        })
    }

    /// Whether the minute starting at `at` is due.
    pub fn is_due(&self, at: OffsetDateTime) -> bool {
        let bit = |set: u64, n: u8| set & (1 << n) != 0;
        let day = bit(self.days, at.day());
        let weekday = bit(self.weekdays, at.weekday().number_days_from_sunday());
        let day_matches = match (self.days_restricted, self.weekdays_restricted) {
            (true, true) => day || weekday,
            _ => day && weekday,
        };
        bit(self.minutes, at.minute())
            && bit(self.hours, at.hour())
            && bit(self.months, u8::from(at.month()))
            && day_matches
    }

    /// The first due minute strictly after `after`, within about four years (a schedule such as
    /// `0 0 30 2 *` is never due: `None`).
    pub fn next_after(&self, after: OffsetDateTime) -> Option<OffsetDateTime> {
        let start = after.replace_time(Time::from_hms(after.hour(), after.minute(), 0).ok()?)
            + Duration::minutes(1);
        let mut day = start.replace_time(Time::MIDNIGHT);
        let end = start + Duration::days(4 * 366);
        while day < end {
            let first_minute = if day.date() == start.date() {
                start
            } else {
                day
            };
            if self.day_is_due(day) {
                let mut at = first_minute;
                while at.date() == day.date() {
                    if self.is_due(at) {
                        return Some(at);
                    }
                    at += Duration::minutes(1);
                }
            }
            day += Duration::days(1);
        }
        None
    }

    /// Whether some minute of `day` may be due: its date fields match.
    fn day_is_due(&self, day: OffsetDateTime) -> bool {
        let any_time = Schedule {
            minutes: u64::MAX,
            hours: u64::MAX,
            ..self.clone()
        };
        any_time.is_due(day)
    }
}

/// The set of values of one field, as bits.
fn parse_field(text: &str, min: u32, max: u32) -> Result<u64, String> {
    let mut set = 0u64;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => {
                let step: u32 = step
                    .parse()
                    .map_err(|_| format!("step {step:?} is not a number"))?;
                if step == 0 {
                    return Err("a step must be at least 1".to_owned());
                }
                (range, step)
            }
            None => (part, 1),
        };
        let (low, high) = if range == "*" {
            (min, max)
        } else if let Some((low, high)) = range.split_once('-') {
            (number(low, min, max)?, number(high, min, max)?)
        } else {
            let value = number(range, min, max)?;
            let high = if part.contains('/') { max } else { value };
            (value, high)
        };
        if low > high {
            return Err(format!("range {range:?} runs backwards"));
        }
        for value in (low..=high).step_by(step as usize) {
            set |= 1 << value;
        }
    }
    Ok(set)
}

fn number(text: &str, min: u32, max: u32) -> Result<u32, String> {
    let value: u32 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    if !(min..=max).contains(&value) {
        return Err(format!("{value} is outside {min}-{max}"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn next(expression: &str, after: OffsetDateTime) -> Option<OffsetDateTime> {
        Schedule::parse(expression).unwrap().next_after(after)
    }

    #[test]
    fn the_next_due_minute_follows_each_field() {
        let at = datetime!(2026-11-30 19:42:10 UTC);
        assert_eq!(next("* * * * *", at), Some(datetime!(2026-11-30 19:43 UTC)));
        assert_eq!(
            next("*/15 * * * *", at),
            Some(datetime!(2026-11-30 19:45 UTC))
        );
        assert_eq!(
            next("30 2 * * *", at),
            Some(datetime!(2026-12-01 02:30 UTC))
        );
        assert_eq!(next("0 0 1 1 *", at), Some(datetime!(2027-01-01 00:00 UTC)));
        // 2026-12-06 is a Sunday; 7 is Sunday too.
        assert_eq!(next("0 3 * * 0", at), Some(datetime!(2026-12-06 03:00 UTC)));
        assert_eq!(next("0 3 * * 7", at), Some(datetime!(2026-12-06 03:00 UTC)));
        assert_eq!(
            next("0 3 * * 1-5", at),
            Some(datetime!(2026-12-01 03:00 UTC))
        );
        assert_eq!(
            next("5,35 8-9 * * *", at),
            Some(datetime!(2026-12-01 08:05 UTC))
        );
    }

    #[test]
    fn a_restricted_day_and_weekday_are_either_or_as_in_cron() {
        // The 15th, or any Monday: from Sunday 2026-12-06 the next is Monday 2026-12-07.
        let at = datetime!(2026-12-06 12:00 UTC);
        assert_eq!(
            next("0 0 15 * 1", at),
            Some(datetime!(2026-12-07 00:00 UTC))
        );
    }

    #[test]
    fn a_date_that_never_comes_is_never_due() {
        assert_eq!(next("0 0 30 2 *", datetime!(2026-01-01 00:00 UTC)), None);
    }

    #[test]
    fn bad_expressions_name_the_field_and_the_fault() {
        let refused = |e: &str| Schedule::parse(e).unwrap_err().to_string();
        assert_eq!(
            refused("* * * *"),
            "invalid schedule \"* * * *\": expected 5 fields (minute hour day-of-month month \
             day-of-week), found 4"
        );
        assert!(refused("60 * * * *").contains("minute: 60 is outside 0-59"));
        assert!(refused("* 5-2 * * *").contains("hour: range \"5-2\" runs backwards"));
        assert!(refused("*/0 * * * *").contains("minute: a step must be at least 1"));
        assert!(refused("* * 0 * *").contains("day of month: 0 is outside 1-31"));
        assert!(refused("* * * jan *").contains("month: \"jan\" is not a number"));
    }
}
