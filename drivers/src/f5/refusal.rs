//! Objects the device refuses. AS3 applies a tenant whole, so one pool member BIG-IP will not
//! configure (`01070734:3: Configuration error: pool /T/A/P member 192.0.2.11 ...`), or one
//! listener's certificate or key it cannot load (`01070313:3: Error reading key PEM file
//! /T/A/fulcrum-listener-L-cert.key ...`), fails the whole tenant with a 422. Rather than block
//! the load balancer and every other load balancer of its tenant, the driver reads which objects
//! the device named, declares the Application without them (the member; the listener, with its
//! L7 policies), and reports those alone in ERROR until an apply gets them accepted.

use std::collections::BTreeMap;

use fulcrum_core::driver::LoadBalancerGraph;
use fulcrum_core::model::{Kind, ListenerProtocol};

use crate::kit::parse_backend_name;

/// A member the device named in a refusal: the object path of its pool and its address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedMember {
    /// `/tenant/application/pool`.
    pub pool_path: String,
    /// The member's address, as declared in `serverAddresses`.
    pub address: String,
}

/// The words of a message, without the punctuation that follows them.
fn words(message: &str) -> Vec<&str> {
    message
        .split_whitespace()
        .map(|w| w.trim_end_matches([';', ',', ':', '.', ')']))
        .collect()
}

/// Every member a refusal names (`pool <path> member <address>`).
pub fn refused_members(message: &str) -> Vec<RefusedMember> {
    words(message)
        .windows(4)
        .filter(|w| w[0] == "pool" && w[1].starts_with('/') && w[2] == "member")
        .map(|w| RefusedMember {
            pool_path: w[1].to_owned(),
            address: w[3].to_owned(),
        })
        .collect()
}

/// The object path of every certificate a refusal names: a listener's `Certificate`
/// (`<listener>-cert`) or `TLS_Server` (`<listener>-tls`), with the key or certificate file
/// extension BIG-IP may add (`.key`, `.crt`) taken off.
pub fn refused_certificates(message: &str) -> Vec<&str> {
    words(message)
        .into_iter()
        .filter(|w| w.starts_with('/'))
        .map(|w| w.trim_end_matches(".key").trim_end_matches(".crt"))
        .filter(|w| w.ends_with("-cert") || w.ends_with("-tls"))
        .collect()
}

/// What a refusal means for one load balancer's Application `/{tenant}/{app}/`.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// These objects of the graph (id → the device's words) are refused: declare without them.
    /// Members, and TERMINATED_HTTPS listeners whose certificate the device refused.
    Objects(BTreeMap<String, String>),
    /// The device refused objects of other Applications declared in the same tenant, none of
    /// this one: worth declaring again once their load balancers dropped them.
    Others,
    /// Anything else (an invalid declaration): the load balancer's fault.
    Fault,
}

/// Judge a refusal's `message` for the Application `app` of `tenant` realizing `graph`.
pub fn judge(message: &str, tenant: &str, app: &str, graph: &LoadBalancerGraph) -> Verdict {
    let members = refused_members(message);
    let certificates = refused_certificates(message);
    let prefix = format!("/{tenant}/{app}/");
    let mut mine = BTreeMap::new();
    for member in &members {
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
    for path in &certificates {
        let Some(name) = path.strip_prefix(&prefix) else {
            continue;
        };
        let listener = name
            .strip_suffix("-cert")
            .or_else(|| name.strip_suffix("-tls"))
            .and_then(parse_backend_name);
        let Some((Kind::Listener, listener_id)) = listener else {
            continue;
        };
        let terminated = graph
            .live_listeners()
            .into_iter()
            .any(|l| l.id == listener_id && l.protocol == ListenerProtocol::TerminatedHttps);
        if terminated {
            mine.insert(
                listener_id.clone(),
                format!("The device refuses the certificate of listener {listener_id}: {message}"),
            );
        }
    }
    let refused_any = !members.is_empty() || !certificates.is_empty();
    if !mine.is_empty() {
        Verdict::Objects(mine)
    } else if refused_any && !message.contains(&prefix) {
        Verdict::Others
    } else {
        Verdict::Fault
    }
}

#[cfg(test)]
mod tests {
    use fulcrum_core::driver::fixtures::{graph, listener, load_balancer, member, pool};
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
        let Verdict::Objects(mine) = judge(REFUSAL, "t", "fulcrum-lb-lb", &tree()) else {
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
    fn a_refused_certificate_names_its_terminated_https_listener() {
        let mut g = tree();
        let mut https = listener("l1", "lb", ListenerProtocol::TerminatedHttps, 443);
        https.default_tls_container_ref = Some("tls".into());
        g.listeners.push(https);
        g.listeners
            .push(listener("l2", "lb", ListenerProtocol::Http, 80));
        let refusal = "422 declaration failed: 01070313:3: Error reading key PEM file \
            /t/fulcrum-lb-lb/fulcrum-listener-l1-cert.key: error:0906D06C:PEM \
            routines:PEM_read_bio:no start line";
        let Verdict::Objects(mine) = judge(refusal, "t", "fulcrum-lb-lb", &g) else {
            panic!("the listener expected");
        };
        assert_eq!(mine.keys().collect::<Vec<_>>(), ["l1"]);
        assert!(mine["l1"].contains("01070313"), "{mine:?}");
        let elsewhere = refusal.replace("fulcrum-lb-lb", "fulcrum-lb-other");
        assert_eq!(judge(&elsewhere, "t", "fulcrum-lb-lb", &g), Verdict::Others);
    }

    #[test]
    fn anything_else_is_the_load_balancers_fault() {
        let invalid = "422 declaration is invalid: /t/fulcrum-lb-lb: must be object";
        assert_eq!(
            judge(invalid, "t", "fulcrum-lb-lb", &tree()),
            Verdict::Fault
        );
        let unknown_certificate = "422 declaration failed: 01070313:3: Error reading key PEM \
            file /t/fulcrum-lb-lb/fulcrum-listener-gone-cert.key";
        assert_eq!(
            judge(unknown_certificate, "t", "fulcrum-lb-lb", &tree()),
            Verdict::Fault
        );
    }
}
