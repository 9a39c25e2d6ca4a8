//! Timestamps in the format Octavia renders them: UTC, second precision, no zone suffix
//! (`2017-06-30T19:49:40`). Stored as text, so lexicographic order is time order.

use time::OffsetDateTime;
use time::macros::format_description;

/// The current time formatted as Octavia renders `created_at`/`updated_at`.
pub fn now() -> String {
    format(OffsetDateTime::now_utc())
}

/// Format a moment as Octavia renders timestamps.
pub fn format(at: OffsetDateTime) -> String {
    at.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second]"
    ))
    .expect("a fixed format description always formats a valid date")
}

/// A moment in milliseconds since the Unix epoch (as [`now_millis`] gives it) formatted as
/// Octavia renders timestamps; empty for a moment outside what a date can hold.
pub fn format_millis(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map(format)
        .unwrap_or_default()
}

/// Read back a timestamp written by [`format`]; `None` for any other text.
pub fn parse(text: &str) -> Option<OffsetDateTime> {
    time::PrimitiveDateTime::parse(
        text,
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
    )
    .ok()
    .map(time::PrimitiveDateTime::assume_utc)
}

/// Milliseconds since the Unix epoch, used for leases and back-off deadlines.
pub fn now_millis() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

#[cfg(test)]
mod tests {
    #[test]
    fn milliseconds_format_as_their_second() {
        assert_eq!(
            super::format_millis(1_498_852_180_999),
            "2017-06-30T19:49:40"
        );
    }

    #[test]
    fn formats_without_zone_or_fraction() {
        let at = time::macros::datetime!(2017-06-30 19:49:40.123 UTC);
        assert_eq!(super::format(at), "2017-06-30T19:49:40");
    }

    #[test]
    fn parses_what_it_formats() {
        let at = time::macros::datetime!(2017-06-30 19:49:40 UTC);
        assert_eq!(super::parse(&super::format(at)), Some(at));
        assert_eq!(super::parse("yesterday"), None);
    }
}
