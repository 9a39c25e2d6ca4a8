//! Which devices of a campaign start next.
//!
//! The rules, in the order they apply:
//!
//! 1. **Canaries first.** The first `canary` devices to start (in campaign order, by the rules
//!    below) must all have finished before any other device starts; a failed canary stops
//!    everything.
//! 2. **A failure pauses.** While any device has failed (its gate did not pass), nothing new
//!    starts: the operator resumes after fixing it, or aborts.
//! 3. **At most `max_parallel`** devices are in progress at once.
//! 4. **One member of a pair at a time**, and **the standby first**: a device whose HA peer is in
//!    progress waits, and the active member of a pair waits until its standby peer is done (it is
//!    then failed over and changed as the standby). So both members of a pair are never out of
//!    service together.
//!
//! [`next`] is a pure function of the persisted progress, so the campaign task calls it on every
//! activation, and after a restart, with the same answer.

/// Where one device stands in a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Not started.
    Pending,
    /// Started and not finished (backup, install, activation or gates under way).
    InProgress,
    /// Changed and through its gates.
    Done,
    /// A step or gate failed; the campaign pauses.
    Failed,
}

/// A device's HA role when the campaign looked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Carries the traffic of its pair.
    Active,
    /// The pair's standby.
    Standby,
    /// Not in a pair.
    Single,
}

/// One device of a campaign, in campaign order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The device.
    pub device: String,
    /// Its HA peer, when it is in a pair (the peer is in the campaign too, or out of scope).
    pub peer: Option<String>,
    /// Its HA role.
    pub role: Role,
    /// Where it stands.
    pub progress: Progress,
}

/// How many devices at once, and how many canaries first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    /// Devices in progress at most (at least 1).
    pub max_parallel: usize,
    /// Devices that must finish before the others start.
    pub canary: usize,
}

/// The devices to start now, in campaign order.
pub fn next(members: &[Member], pace: Pace) -> Vec<String> {
    if members.iter().any(|m| m.progress == Progress::Failed) {
        return Vec::new();
    }
    let done = members
        .iter()
        .filter(|m| m.progress == Progress::Done)
        .count();
    let mut in_progress: Vec<&str> = members
        .iter()
        .filter(|m| m.progress == Progress::InProgress)
        .map(|m| m.device.as_str())
        .collect();
    // Until the canaries are done, no more devices than the canaries have ever started.
    let canaries = pace.canary.min(members.len());
    let limit = if done < canaries {
        pace.max_parallel.max(1).min(canaries - done)
    } else {
        pace.max_parallel.max(1)
    };
    let mut started = Vec::new();
    for member in members {
        if in_progress.len() >= limit {
            break;
        }
        if member.progress != Progress::Pending || !peer_allows(member, members, &in_progress) {
            continue;
        }
        in_progress.push(&member.device);
        started.push(member.device.clone());
    }
    started
}

/// Whether `member`'s HA peer lets it start: the peer is not in progress (nor starting now),
/// and an active member waits for a pending standby peer.
fn peer_allows(member: &Member, members: &[Member], in_progress: &[&str]) -> bool {
    let Some(peer_id) = &member.peer else {
        return true;
    };
    if in_progress.contains(&peer_id.as_str()) {
        return false;
    }
    let peer = members.iter().find(|m| &m.device == peer_id);
    match (member.role, peer) {
        (Role::Active, Some(peer)) => peer.progress != Progress::Pending,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn single(device: &str, progress: Progress) -> Member {
        Member {
            device: device.into(),
            peer: None,
            role: Role::Single,
            progress,
        }
    }

    /// Pairs `pN-a` (active) and `pN-b` (standby), listed active first, all pending.
    fn pairs(count: usize) -> Vec<Member> {
        (0..count)
            .flat_map(|n| {
                let (a, b) = (format!("p{n}-a"), format!("p{n}-b"));
                [
                    Member {
                        device: a.clone(),
                        peer: Some(b.clone()),
                        role: Role::Active,
                        progress: Progress::Pending,
                    },
                    Member {
                        device: b,
                        peer: Some(a),
                        role: Role::Standby,
                        progress: Progress::Pending,
                    },
                ]
            })
            .collect()
    }

    fn set(members: &mut [Member], devices: &[String], progress: Progress) {
        for member in members.iter_mut() {
            if devices.contains(&member.device) {
                member.progress = progress;
            }
        }
    }

    const WIDE: Pace = Pace {
        max_parallel: 100,
        canary: 0,
    };

    #[test]
    fn the_standby_of_a_pair_goes_first_and_never_with_its_peer() {
        let mut members = pairs(2);
        let first = next(&members, WIDE);
        assert_eq!(first, ["p0-b", "p1-b"], "standbys first, actives wait");
        set(&mut members, &first, Progress::InProgress);
        assert!(
            next(&members, WIDE).is_empty(),
            "no active while its standby is in progress"
        );
        set(&mut members, &["p0-b".to_owned()], Progress::Done);
        assert_eq!(next(&members, WIDE), ["p0-a"]);
    }

    #[test]
    fn no_more_than_max_parallel_run_at_once() {
        let mut members: Vec<Member> = (0..10)
            .map(|n| single(&format!("d{n}"), Progress::Pending))
            .collect();
        let pace = Pace {
            max_parallel: 3,
            canary: 0,
        };
        let first = next(&members, pace);
        assert_eq!(first, ["d0", "d1", "d2"]);
        set(&mut members, &first, Progress::InProgress);
        assert!(next(&members, pace).is_empty());
        set(&mut members, &["d1".to_owned()], Progress::Done);
        assert_eq!(next(&members, pace), ["d3"]);
    }

    #[test]
    fn canaries_finish_before_the_rest_start() {
        let mut members: Vec<Member> = (0..5)
            .map(|n| single(&format!("d{n}"), Progress::Pending))
            .collect();
        let pace = Pace {
            max_parallel: 5,
            canary: 2,
        };
        assert_eq!(next(&members, pace), ["d0", "d1"]);
        set(
            &mut members,
            &["d0".to_owned(), "d1".to_owned()],
            Progress::InProgress,
        );
        set(&mut members, &["d0".to_owned()], Progress::Done);
        assert!(next(&members, pace).is_empty(), "one canary still runs");
        set(&mut members, &["d1".to_owned()], Progress::Done);
        assert_eq!(next(&members, pace), ["d2", "d3", "d4"]);
    }

    #[test]
    fn a_failure_pauses_every_new_start() {
        let mut members: Vec<Member> = (0..4)
            .map(|n| single(&format!("d{n}"), Progress::Pending))
            .collect();
        set(&mut members, &["d0".to_owned()], Progress::Failed);
        assert!(next(&members, WIDE).is_empty());
        set(&mut members, &["d0".to_owned()], Progress::Done);
        assert_eq!(next(&members, WIDE), ["d1", "d2", "d3"]);
    }

    /// Run whole campaigns step by step, finishing a random one of the devices in progress each
    /// time: every device ends done, at most `max_parallel` ever run, and never both of a pair.
    #[test]
    fn whole_campaigns_never_take_a_pair_down_or_exceed_the_pace() {
        let mut seed: u64 = 0x5eed;
        let mut random = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        for (count, max_parallel, canary) in [(20, 5, 1), (50, 50, 0), (7, 1, 3), (30, 8, 4)] {
            let mut members = pairs(count);
            members.push(single("lone", Progress::Pending));
            let pace = Pace {
                max_parallel,
                canary,
            };
            loop {
                let started = next(&members, pace);
                set(&mut members, &started, Progress::InProgress);
                let running: Vec<String> = members
                    .iter()
                    .filter(|m| m.progress == Progress::InProgress)
                    .map(|m| m.device.clone())
                    .collect();
                assert!(running.len() <= max_parallel, "{running:?}");
                for member in &members {
                    if member.progress == Progress::InProgress {
                        let peer = member.peer.as_ref().unwrap_or(&member.device);
                        assert!(
                            peer == &member.device || !running.contains(peer),
                            "{} and {peer} both in progress",
                            member.device
                        );
                    }
                }
                if running.is_empty() {
                    break;
                }
                let finished = running[random(running.len())].clone();
                set(&mut members, &[finished], Progress::Done);
            }
            assert!(
                members.iter().all(|m| m.progress == Progress::Done),
                "every device is done: {members:?}"
            );
        }
    }
}
