//! Members the device refuses. AS3 applies a tenant whole, so one pool member BIG-IP will not
//! configure (`01070734:3: Configuration error: pool /T/A/P member 192.0.2.11 ...`) fails the
//! whole tenant with a 422. Rather than block the load balancer and every other load balancer of
//! its tenant, the driver reads which members the device named, declares the Application
//! without them, and reports those members alone in ERROR until an apply gets them accepted.

use std::collections::BTreeMap;

use fulcrum_core::driver::LoadBalancerGraph;
use fulcrum_core::model::Kind;

use crate::kit::parse_backend_name;

/// A member the device named in a refusal: the object path of its pool and its address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedMember {
    /// `/tenant/application/pool`.
    pub pool_path: String,
    /// The member's address, as declared in `serverAddresses`.
    pub address: String,
}

/// Every member a refusal names (`pool <path> member <address>`).
pub fn refused_members(message: &str) -> Vec<RefusedMember> {
    let words: Vec<&str> = message
        .split_whitespace()
        .map(|w| w.trim_end_matches([';', ',', ':']))
        .collect();
    words
        .windows(4)
        .filter(|w| w[0] == "pool" && w[1].starts_with('/') && w[2] == "member")
        .map(|w| RefusedMember {
            pool_path: w[1].to_owned(),
            address: w[3].to_owned(),
        })
        .collect()
}

/// What a refusal means for one load balancer's Application `/{tenant}/{app}/`.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// These members of the graph (id → the device's words) are refused: declare without them.
    Members(BTreeMap<String, String>),
    /// The device refused members of other Applications declared in the same tenant, none of
    /// this one: worth declaring again once their load balancers dropped them.
    Others,
    /// Anything else (an invalid declaration, a certificate of this Application): the load
    /// balancer's fault.
    Fault,
}

/// Judge a refusal's `message` for the Application `app` of `tenant` realizing `graph`.
pub fn judge(message: &str, tenant: &str, app: &str, graph: &LoadBalancerGraph) -> Verdict {
    let refused = refused_members(message);
    let prefix = format!("/{tenant}/{app}/");
    let mut mine = BTreeMap::new();
    for member in &refused {
        let Some(pool_name) = member.pool_path.strip_prefix(&prefix) else {
            continue;
        };
        let Some((Kind::Pool, pool_id)) = parse_backend_name(pool_name) else {
            continue;
        };
        for m in graph.live_members_of(&pool_id) {
            if m.address == member.address {
                mine.insert(
                    m.id.clone(),
                    format!(
                        "The device refuses member {} of pool {pool_id}: {message}",
                        m.address
                    ),
                );
            }
        }
    }
    if !mine.is_empty() {
        Verdict::Members(mine)
    } else if !refused.is_empty() && !message.contains(&prefix) {
        Verdict::Others
    } else {
        Verdict::Fault
    }
}

#[cfg(test)]
mod tests {
    use fulcrum_core::driver::fixtures::{graph, load_balancer, member, pool};
    use fulcrum_core::model::{LbAlgorithm, PoolProtocol};

    use super::*;

    const REFUSAL: &str = "AS3 refused the declaration: 422 declaration failed: 01070734:3: \
        Configuration error: pool /t/fulcrum-lb-lb/fulcrum-pool-p member 192.0.2.11 is refused \
        by the device; 01070734:3: Configuration error: pool /t/fulcrum-lb-other/fulcrum-pool-q \
        member 192.0.2.12 is refused by the device";

    fn tree() -> LoadBalancerGraph {
        let mut g = graph(load_balancer("lb"));
        g.pools
            .push(pool("p", "lb", PoolProtocol::Http, LbAlgorithm::RoundRobin));
        g.members.push(member("m1", "lb", "p", "192.0.2.10", 80));
        g.members.push(member("m2", "lb", "p", "192.0.2.11", 80));
        g.members.push(member("m3", "lb", "p", "192.0.2.11", 81));
        g
    }

    #[test]
    fn every_named_member_is_read() {
        let refused = refused_members(REFUSAL);
        assert_eq!(refused.len(), 2);
        assert_eq!(refused[0].pool_path, "/t/fulcrum-lb-lb/fulcrum-pool-p");
        assert_eq!(refused[1].address, "192.0.2.12");
    }

    #[test]
    fn the_members_of_the_named_address_in_the_named_pool_are_refused() {
        let Verdict::Members(mine) = judge(REFUSAL, "t", "fulcrum-lb-lb", &tree()) else {
            panic!("members expected");
        };
        assert_eq!(mine.keys().collect::<Vec<_>>(), ["m2", "m3"]);
        assert!(mine["m2"].contains("192.0.2.11"));
    }

    #[test]
    fn a_refusal_of_another_application_only_is_worth_another_try() {
        let other = REFUSAL.split("; ").nth(1).unwrap();
        assert_eq!(judge(other, "t", "fulcrum-lb-lb", &tree()), Verdict::Others);
    }

    #[test]
    fn anything_else_is_the_load_balancers_fault() {
        let certificate = "422 declaration failed: 01070312:3: Invalid certificate \
            /t/fulcrum-lb-lb/fulcrum-cert: the device cannot load it";
        assert_eq!(
            judge(certificate, "t", "fulcrum-lb-lb", &tree()),
            Verdict::Fault
        );
        let invalid = "422 declaration is invalid: /t/fulcrum-lb-lb: must be object";
        assert_eq!(
            judge(invalid, "t", "fulcrum-lb-lb", &tree()),
            Verdict::Fault
        );
    }
}
