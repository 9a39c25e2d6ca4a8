//! The steps one device goes through in a campaign, and what to do next at each, decided from
//! what was persisted and what the device says now.
//!
//! A device goes `Backup` → `Failover` (only the active member of a pair) → `Install` →
//! `Activate` → `Gates` → done. Before a step acts on the device it is persisted as *started*;
//! after a restart, a started step is first checked against the device (an install already under
//! way or complete, a device already running the target, a peer already active) and only issued
//! again when the device shows no trace of it. That is how a campaign resumed after a crash runs
//! no step twice.

/// A step of a device's change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// Take a backup of its configuration.
    Backup,
    /// Hand its traffic to its HA peer.
    Failover,
    /// Install the target to the spare volume.
    Install,
    /// Boot into the spare volume.
    Activate,
    /// Check the health gates.
    Gates,
}

impl Step {
    /// Its name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Backup => "backup",
            Step::Failover => "failover",
            Step::Install => "install",
            Step::Activate => "activate",
            Step::Gates => "gates",
        }
    }

    /// The step stored under `name`.
    pub fn parse(name: &str) -> Option<Step> {
        [
            Step::Backup,
            Step::Failover,
            Step::Install,
            Step::Activate,
            Step::Gates,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }
}

/// The state of the spare volume the target is installed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Volume {
    /// Nothing of the target is there.
    Absent,
    /// The target is being installed.
    Installing,
    /// The target is installed and may be booted.
    Installed,
    /// The install failed, with the device's words.
    Failed(String),
}

/// What the device says now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// Whether it answered.
    pub reachable: bool,
    /// Whether it carries its pair's traffic (false for a standby or a single device that does
    /// not say).
    pub active: bool,
    /// Whether it runs the target version now.
    pub runs_target: bool,
    /// The spare volume.
    pub volume: Volume,
    /// The gates that do not pass, in words (empty: all pass).
    pub failing_gates: Vec<String>,
}

/// The campaign's view of one device's step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// The step it is at.
    pub step: Step,
    /// Whether that step was persisted as started (it may have acted on the device).
    pub started: bool,
    /// Whether a backup is wanted before the change.
    pub backup_wanted: bool,
    /// Whether the device is in an HA pair.
    pub paired: bool,
}

/// What to do next for a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Persist `step` as started, then act: take a backup, fail over, install, or activate.
    Issue(Step),
    /// The current step is under way on the device (or its gates do not pass yet): look again
    /// later. The campaign fails a device that waits past its policy's gate timeout.
    Wait,
    /// The current step is done: persist the device at this step, not started.
    Advance(Step),
    /// Every step is done and the gates pass.
    Done,
    /// The device cannot go on: the campaign pauses with this reason.
    Fail(String),
}

/// The next thing to do for a device at `position`, given what it says now (`observed`) and,
/// for the backup step, whether the backup of this campaign is stored (`backup_stored`).
pub fn next(position: Position, observed: &Observed, backup_stored: bool) -> Next {
    let Position {
        step,
        started,
        backup_wanted,
        paired,
    } = position;
    if !observed.reachable && step != Step::Activate && step != Step::Gates {
        return Next::Wait;
    }
    match step {
        // A device that already runs the target is not changed: only its gates are checked.
        Step::Backup | Step::Failover if !started && observed.runs_target => {
            Next::Advance(Step::Gates)
        }
        Step::Backup if !backup_wanted || backup_stored => Next::Advance(after_backup(paired)),
        Step::Backup => Next::Issue(Step::Backup),
        Step::Failover if !observed.active => Next::Advance(Step::Install),
        Step::Failover if started => Next::Wait,
        Step::Failover => Next::Issue(Step::Failover),
        Step::Install if observed.runs_target => Next::Advance(Step::Gates),
        Step::Install => match &observed.volume {
            Volume::Installed => Next::Advance(Step::Activate),
            Volume::Installing => Next::Wait,
            Volume::Failed(reason) if started => Next::Fail(format!("install failed: {reason}")),
            Volume::Failed(_) | Volume::Absent => Next::Issue(Step::Install),
        },
        Step::Activate if observed.reachable && observed.runs_target => Next::Advance(Step::Gates),
        // The device reports the activation failed (an NSX upgrade plan that ended FAILED).
        Step::Activate if started && observed.reachable => match &observed.volume {
            Volume::Failed(reason) => Next::Fail(format!("activate failed: {reason}")),
            _ => Next::Wait,
        },
        Step::Activate if started => Next::Wait,
        Step::Activate => Next::Issue(Step::Activate),
        Step::Gates if observed.reachable && observed.failing_gates.is_empty() => Next::Done,
        Step::Gates => Next::Wait,
    }
}

fn after_backup(paired: bool) -> Step {
    if paired {
        Step::Failover
    } else {
        Step::Install
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn healthy() -> Observed {
        Observed {
            reachable: true,
            active: false,
            runs_target: false,
            volume: Volume::Absent,
            failing_gates: Vec::new(),
        }
    }

    fn at(step: Step, started: bool) -> Position {
        Position {
            step,
            started,
            backup_wanted: true,
            paired: true,
        }
    }

    /// Drive one device through its steps against a device model that follows the actions.
    /// Every decision is made from the persisted position and the device alone, as after a
    /// restart; each action is issued exactly once.
    #[test]
    fn a_device_goes_through_every_step_once_across_restarts() {
        let mut device = Observed {
            active: true,
            ..healthy()
        };
        let mut position = at(Step::Backup, false);
        let mut backup_stored = false;
        let mut issued = Vec::new();
        for _ in 0..50 {
            match next(position, &device, backup_stored) {
                Next::Issue(step) => {
                    position.started = true;
                    issued.push(step);
                    match step {
                        Step::Backup => backup_stored = true,
                        Step::Failover => device.active = false,
                        Step::Install => device.volume = Volume::Installing,
                        Step::Activate => device.reachable = false,
                        Step::Gates => unreachable!("gates are checked, not issued"),
                    }
                }
                Next::Wait => match (position.step, &device.volume, device.reachable) {
                    (Step::Install, Volume::Installing, _) => device.volume = Volume::Installed,
                    (Step::Activate, _, false) => {
                        device.reachable = true;
                        device.runs_target = true;
                    }
                    other => panic!("waiting for nothing: {other:?}"),
                },
                Next::Advance(step) => position = at(step, false),
                Next::Done => break,
                Next::Fail(reason) => panic!("{reason}"),
            }
        }
        assert_eq!(
            issued,
            [Step::Backup, Step::Failover, Step::Install, Step::Activate]
        );
    }

    #[test]
    fn a_started_step_the_device_already_shows_is_not_issued_again() {
        let installing = Observed {
            volume: Volume::Installing,
            ..healthy()
        };
        assert_eq!(next(at(Step::Install, true), &installing, true), Next::Wait);
        let rebooted = Observed {
            runs_target: true,
            ..healthy()
        };
        assert_eq!(
            next(at(Step::Activate, true), &rebooted, true),
            Next::Advance(Step::Gates)
        );
        let failed_over = healthy();
        assert_eq!(
            next(at(Step::Failover, true), &failed_over, true),
            Next::Advance(Step::Install)
        );
        assert_eq!(
            next(at(Step::Backup, true), &healthy(), true),
            Next::Advance(Step::Failover),
            "a stored backup is not taken again"
        );
    }

    #[test]
    fn a_failed_install_fails_the_device_and_a_failing_gate_holds_it() {
        let failed = Observed {
            volume: Volume::Failed("checksum mismatch".into()),
            ..healthy()
        };
        assert_eq!(
            next(at(Step::Install, true), &failed, true),
            Next::Fail("install failed: checksum mismatch".into())
        );
        let unhealthy = Observed {
            runs_target: true,
            failing_gates: vec!["HA not in sync".into()],
            ..healthy()
        };
        assert_eq!(next(at(Step::Gates, false), &unhealthy, true), Next::Wait);
    }

    #[test]
    fn a_single_device_skips_the_failover_and_a_device_already_on_target_only_checks_gates() {
        let single = Position {
            paired: false,
            ..at(Step::Backup, false)
        };
        assert_eq!(next(single, &healthy(), true), Next::Advance(Step::Install));
        let current = Observed {
            runs_target: true,
            ..healthy()
        };
        assert_eq!(
            next(at(Step::Install, false), &current, true),
            Next::Advance(Step::Gates)
        );
        let unwanted = Position {
            backup_wanted: false,
            ..at(Step::Backup, false)
        };
        assert_eq!(
            next(unwanted, &healthy(), false),
            Next::Advance(Step::Failover)
        );
    }

    #[test]
    fn a_device_already_on_the_target_is_neither_backed_up_nor_failed_over() {
        let current = Observed {
            active: true,
            runs_target: true,
            ..healthy()
        };
        assert_eq!(
            next(at(Step::Backup, false), &current, false),
            Next::Advance(Step::Gates)
        );
        assert_eq!(
            next(at(Step::Failover, false), &current, true),
            Next::Advance(Step::Gates)
        );
    }

    #[test]
    fn an_activation_the_device_reports_failed_fails_the_device() {
        let failed = Observed {
            volume: Volume::Failed("upgrade failed: the plan stopped".into()),
            ..healthy()
        };
        assert_eq!(
            next(at(Step::Activate, true), &failed, true),
            Next::Fail("activate failed: upgrade failed: the plan stopped".into())
        );
        let booting = Observed {
            reachable: false,
            ..failed.clone()
        };
        assert_eq!(next(at(Step::Activate, true), &booting, true), Next::Wait);
        let installed = Observed {
            volume: Volume::Installed,
            ..healthy()
        };
        assert_eq!(next(at(Step::Activate, true), &installed, true), Next::Wait);
    }

    #[test]
    fn steps_are_stored_by_name() {
        for step in [
            Step::Backup,
            Step::Failover,
            Step::Install,
            Step::Activate,
            Step::Gates,
        ] {
            assert_eq!(Step::parse(step.as_str()), Some(step));
        }
        assert_eq!(Step::parse("reboot"), None);
    }
}
