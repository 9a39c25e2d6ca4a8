//! The load balancer tree the driver's tests change server by server: one HTTP listener sending
//! to pool p1, which has an HTTP health monitor and members m1 and m2.

use fulcrum_core::driver::{LoadBalancerGraph, fixtures};
use fulcrum_core::model::{
    HealthMonitorType, LbAlgorithm, ListenerProtocol, LoadBalancer, PoolProtocol,
};

/// Load balancer `lb` on the haproxy provider, listening on `port`, with members m1 and m2 at
/// `address` on `member_ports`.
pub(super) fn two_members(
    lb: &str,
    port: i64,
    address: &str,
    member_ports: [i64; 2],
) -> LoadBalancerGraph {
    let mut g = fixtures::graph(LoadBalancer {
        provider: "haproxy".into(),
        ..fixtures::load_balancer(lb)
    });
    let mut listener = fixtures::listener("l1", lb, ListenerProtocol::Http, port);
    listener.default_pool_id = Some("p1".into());
    g.listeners.push(listener);
    g.pools.push(fixtures::pool(
        "p1",
        lb,
        PoolProtocol::Http,
        LbAlgorithm::RoundRobin,
    ));
    g.health_monitors.push(fixtures::health_monitor(
        "hm1",
        lb,
        "p1",
        HealthMonitorType::Http,
    ));
    for (id, member_port) in ["m1", "m2"].into_iter().zip(member_ports) {
        g.members
            .push(fixtures::member(id, lb, "p1", address, member_port));
    }
    g
}
