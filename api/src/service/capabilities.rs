//! What a load balancer's provider and the certificate store must support for an object: checked
//! before anything is written, with Octavia's 501 (provider) and 400 (certificates).

use fulcrum_core::Error;
use fulcrum_core::driver::Capabilities;
use fulcrum_core::model::{HealthMonitorType, LbAlgorithm, ListenerProtocol, PoolProtocol};

use super::Service;

/// One thing an object needs from its provider.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Needs {
    /// Listeners of a protocol.
    ListenerProtocol(ListenerProtocol),
    /// Pools of a protocol.
    PoolProtocol(PoolProtocol),
    /// A balancing algorithm.
    Algorithm(LbAlgorithm),
    /// Health monitors of a type.
    HealthMonitor(HealthMonitorType),
    /// L7 policies on listeners of a protocol.
    L7Policies(ListenerProtocol),
}

impl Needs {
    fn met_by(self, caps: &Capabilities) -> bool {
        match self {
            Needs::ListenerProtocol(p) => caps.listener_protocols.contains(&p),
            Needs::PoolProtocol(p) => caps.pool_protocols.contains(&p),
            Needs::Algorithm(a) => caps.lb_algorithms.contains(&a),
            Needs::HealthMonitor(t) => caps.health_monitor_types.contains(&t),
            Needs::L7Policies(p) => caps.l7_listener_protocols.contains(&p),
        }
    }

    /// Octavia's text for a provider that lacks it.
    fn unsupported(self) -> String {
        match self {
            Needs::ListenerProtocol(p) => format!("{p} protocol listeners are not supported."),
            Needs::PoolProtocol(p) => format!("{p} protocol pools are not supported."),
            Needs::Algorithm(a) => format!("{a} algorithm is not supported."),
            Needs::HealthMonitor(t) => format!("{t} health monitors are not supported."),
            Needs::L7Policies(p) => format!("{p} protocol listeners do not support L7 policies"),
        }
    }
}

impl Service {
    /// Octavia's 501 unless `provider` has everything in `needs` (checked in order); 400 when the
    /// provider is not enabled.
    pub(crate) fn require(&self, provider: &str, needs: &[Needs]) -> Result<(), Error> {
        let caps = self.providers.get(provider)?.capabilities();
        match needs.iter().find(|n| !n.met_by(&caps)) {
            Some(missing) => Err(Error::ProviderUnsupported {
                provider: provider.to_string(),
                option: missing.unsupported(),
            }),
            None => Ok(()),
        }
    }

    /// Every certificate reference must resolve, or Octavia's 400 names those that do not.
    pub(crate) fn check_certificates<'a>(
        &self,
        references: impl IntoIterator<Item = &'a String>,
    ) -> Result<(), Error> {
        let missing: Vec<String> = references
            .into_iter()
            .filter(|r| self.certificates.fetch(r).is_err())
            .map(|r| format!("'{r}'"))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Error::BadRequest(format!(
                "Could not retrieve certificate: [{}]",
                missing.join(", ")
            )))
        }
    }
}
