//! Faults every simulator injects on command: a share of calls answered with a 5xx, or held
//! before they are served.
//!
//! Which calls fail is drawn from a seeded generator, so a failing test run replays the same
//! faults. A held call is served after the hold — the change is made though the client may have
//! given up — which is the case a driver finds hardest: it cannot know whether its call took.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde::{Deserialize, Serialize};

/// Which calls to fail or hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultPlan {
    /// The seed of the generator that picks the calls.
    pub seed: u64,
    /// The share of calls (0 to 1) answered with `error_status`.
    pub error_rate: f64,
    /// The status of an injected error (5xx).
    pub error_status: u16,
    /// The share of calls (0 to 1) held for `hold_ms` before they are served.
    pub hold_rate: f64,
    /// How long a held call is held, in milliseconds.
    pub hold_ms: u64,
    /// The methods faults apply to; empty for every method.
    pub methods: Vec<String>,
    /// Only paths that start with this; none for every path.
    pub path_prefix: Option<String>,
    /// Only calls to this device (of a simulator of several, such as a BIG-IP HA pair: 0 or 1);
    /// none for every device.
    pub device: Option<usize>,
}

impl Default for FaultPlan {
    fn default() -> Self {
        Self {
            seed: 0,
            error_rate: 0.0,
            error_status: 503,
            hold_rate: 0.0,
            hold_ms: 30_000,
            methods: Vec::new(),
            path_prefix: None,
            device: None,
        }
    }
}

impl FaultPlan {
    /// Check the shares and the status.
    pub fn validate(&self) -> Result<(), String> {
        for (name, rate) in [
            ("error_rate", self.error_rate),
            ("hold_rate", self.hold_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("{name} must be between 0 and 1, not {rate}"));
            }
        }
        if !(500..=599).contains(&self.error_status) {
            return Err(format!(
                "error_status must be a 5xx, not {}",
                self.error_status
            ));
        }
        Ok(())
    }
}

/// The fault plan in force and what it has injected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultReport {
    /// The plan.
    pub plan: FaultPlan,
    /// Calls answered with an injected error.
    pub errors_injected: u64,
    /// Calls held.
    pub holds_injected: u64,
}

/// What happens to one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Serve it.
    Pass,
    /// Answer this error instead.
    Fail(StatusCode),
    /// Hold it this long, then serve it.
    Hold(Duration),
}

/// The plan in force and what it has injected.
#[derive(Debug)]
pub struct Faults {
    plan: FaultPlan,
    rng: fastrand::Rng,
    /// Calls answered with an injected error.
    pub errors_injected: u64,
    /// Calls held.
    pub holds_injected: u64,
}

impl Default for Faults {
    fn default() -> Self {
        Self::new(FaultPlan::default())
    }
}

impl Faults {
    /// Put a plan in force (counts start again).
    pub fn new(plan: FaultPlan) -> Self {
        Self {
            rng: fastrand::Rng::with_seed(plan.seed),
            plan,
            errors_injected: 0,
            holds_injected: 0,
        }
    }

    /// The plan in force.
    pub fn plan(&self) -> &FaultPlan {
        &self.plan
    }

    /// The plan in force and what it has injected.
    pub fn report(&self) -> FaultReport {
        FaultReport {
            plan: self.plan.clone(),
            errors_injected: self.errors_injected,
            holds_injected: self.holds_injected,
        }
    }

    /// Decide the fate of a call to `device`.
    pub fn decide(&mut self, device: usize, method: &Method, path: &str) -> Decision {
        let plan = &self.plan;
        if plan.error_rate <= 0.0 && plan.hold_rate <= 0.0 {
            return Decision::Pass;
        }
        let applies = plan.device.is_none_or(|d| d == device)
            && (plan.methods.is_empty()
                || plan
                    .methods
                    .iter()
                    .any(|m| m.eq_ignore_ascii_case(method.as_str())))
            && plan
                .path_prefix
                .as_deref()
                .is_none_or(|prefix| path.starts_with(prefix));
        if !applies {
            return Decision::Pass;
        }
        let draw = self.rng.f64();
        if draw < plan.error_rate {
            self.errors_injected += 1;
            Decision::Fail(
                StatusCode::from_u16(plan.error_status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
            )
        } else if draw < plan.error_rate + plan.hold_rate {
            self.holds_injected += 1;
            Decision::Hold(Duration::from_millis(plan.hold_ms))
        } else {
            Decision::Pass
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draws(plan: FaultPlan) -> Vec<Decision> {
        let mut faults = Faults::new(plan);
        (0..200)
            .map(|_| faults.decide(0, &Method::PATCH, "/policy/api/v1/infra"))
            .collect()
    }

    #[test]
    fn the_same_seed_injects_the_same_faults_at_about_the_rate() {
        let plan = FaultPlan {
            seed: 7,
            error_rate: 0.2,
            ..FaultPlan::default()
        };
        let first = draws(plan.clone());
        assert_eq!(first, draws(plan));
        let failed = first
            .iter()
            .filter(|d| matches!(d, Decision::Fail(_)))
            .count();
        assert!((20..=60).contains(&failed), "{failed} of 200 failed");
    }

    #[test]
    fn faults_apply_only_to_the_chosen_methods_and_paths() {
        let mut faults = Faults::new(FaultPlan {
            error_rate: 1.0,
            methods: vec!["GET".into()],
            ..FaultPlan::default()
        });
        assert_eq!(faults.decide(0, &Method::PATCH, "/x"), Decision::Pass);
        assert!(matches!(
            faults.decide(0, &Method::GET, "/x"),
            Decision::Fail(_)
        ));
        let mut faults = Faults::new(FaultPlan {
            error_rate: 1.0,
            path_prefix: Some("/policy/api/v1/infra/lb-pools".into()),
            ..FaultPlan::default()
        });
        assert_eq!(
            faults.decide(0, &Method::GET, "/policy/api/v1/infra"),
            Decision::Pass
        );
    }

    #[test]
    fn a_plan_for_one_device_spares_the_other() {
        let mut faults = Faults::new(FaultPlan {
            error_rate: 1.0,
            device: Some(1),
            ..FaultPlan::default()
        });
        assert_eq!(faults.decide(0, &Method::GET, "/mgmt"), Decision::Pass);
        assert_eq!(
            faults.decide(1, &Method::GET, "/mgmt"),
            Decision::Fail(StatusCode::SERVICE_UNAVAILABLE)
        );
    }

    #[test]
    fn shares_outside_zero_to_one_are_refused() {
        let plan = FaultPlan {
            hold_rate: 1.5,
            ..FaultPlan::default()
        };
        assert!(plan.validate().is_err());
    }
}
