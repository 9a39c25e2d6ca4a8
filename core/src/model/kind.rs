//! [`Kind`]: which of Octavia's object types a row is.

use std::fmt;

/// The object types of a load balancer tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// A load balancer.
    LoadBalancer,
    /// A listener.
    Listener,
    /// A pool.
    Pool,
    /// A member.
    Member,
    /// A health monitor.
    HealthMonitor,
    /// An L7 policy.
    L7Policy,
    /// An L7 rule.
    L7Rule,
}

impl Kind {
    /// Every kind, parents before children.
    pub const ALL: [Kind; 7] = [
        Kind::LoadBalancer,
        Kind::Listener,
        Kind::Pool,
        Kind::Member,
        Kind::HealthMonitor,
        Kind::L7Policy,
        Kind::L7Rule,
    ];

    /// Octavia's display name, as used in its error messages ("Load Balancer 42 not found.").
    pub fn display_name(self) -> &'static str {
        match self {
            Kind::LoadBalancer => "Load Balancer",
            Kind::Listener => "Listener",
            Kind::Pool => "Pool",
            Kind::Member => "Member",
            Kind::HealthMonitor => "Health Monitor",
            Kind::L7Policy => "L7 Policy",
            Kind::L7Rule => "L7 Rule",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.display_name())
    }
}
