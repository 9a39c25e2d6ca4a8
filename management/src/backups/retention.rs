//! Which backups a retention policy removes: beyond the newest `keep` of a device, or older than
//! `max_age` — but never a device's newest backup, so a device that has been unreachable for
//! longer than `max_age` keeps the last configuration it had.

use time::{Duration, OffsetDateTime};

/// How long backups are kept; each limit applies when set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention {
    /// The newest this many backups of each device are kept.
    pub keep: Option<usize>,
    /// Backups older than this are removed.
    pub max_age: Option<Duration>,
}

/// One stored backup, as retention sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    /// Its id.
    pub id: String,
    /// When it was taken.
    pub taken_at: OffsetDateTime,
}

/// The ids of `backups` (all of one device) that `retention` removes at `now`.
pub fn expired(backups: &[Kept], retention: Retention, now: OffsetDateTime) -> Vec<String> {
    let mut newest_first: Vec<&Kept> = backups.iter().collect();
    newest_first.sort_by(|a, b| b.taken_at.cmp(&a.taken_at).then(b.id.cmp(&a.id)));
    newest_first
        .iter()
        .enumerate()
        .skip(1)
        .filter(|(rank, backup)| {
            let beyond_count = retention.keep.is_some_and(|keep| *rank >= keep.max(1));
            let too_old = retention
                .max_age
                .is_some_and(|age| now - backup.taken_at > age);
            beyond_count || too_old
        })
        .map(|(_, backup)| backup.id.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn daily(count: i64, now: OffsetDateTime) -> Vec<Kept> {
        (0..count)
            .map(|n| Kept {
                id: format!("b{n}"),
                taken_at: now - Duration::days(n),
            })
            .collect()
    }

    const NOW: OffsetDateTime = datetime!(2026-11-30 12:00 UTC);

    #[test]
    fn the_newest_are_kept_up_to_the_count() {
        let removed = expired(
            &daily(5, NOW),
            Retention {
                keep: Some(3),
                max_age: None,
            },
            NOW,
        );
        assert_eq!(removed, ["b3", "b4"]);
    }

    #[test]
    fn backups_past_the_age_are_removed() {
        let removed = expired(
            &daily(5, NOW),
            Retention {
                keep: None,
                max_age: Some(Duration::days(2)),
            },
            NOW,
        );
        assert_eq!(removed, ["b3", "b4"], "b2 is exactly two days old and kept");
    }

    #[test]
    fn a_devices_newest_backup_is_never_removed() {
        let old = vec![Kept {
            id: "only".into(),
            taken_at: NOW - Duration::days(400),
        }];
        let strict = Retention {
            keep: Some(0),
            max_age: Some(Duration::days(1)),
        };
        assert!(expired(&old, strict, NOW).is_empty());
        assert_eq!(expired(&daily(3, NOW), strict, NOW), ["b1", "b2"]);
    }

    #[test]
    fn no_policy_removes_nothing() {
        assert!(expired(&daily(30, NOW), Retention::default(), NOW).is_empty());
    }
}
