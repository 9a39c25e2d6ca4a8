"""Octavia's provider data models for the tests, as Octavia's API hands them to a driver."""

from octavia_lib.api.drivers import data_models as dm

PROJECT = "6f1e2d3c4b5a49688776655443322110"
LB = "7a0c1b2e-0000-4000-8000-00000000000a"
LISTENER = "7a0c1b2e-0000-4000-8000-0000000000a1"
POOL = "7a0c1b2e-0000-4000-8000-0000000000b1"
MEMBER_1 = "7a0c1b2e-0000-4000-8000-0000000000c1"
MEMBER_2 = "7a0c1b2e-0000-4000-8000-0000000000c2"
MONITOR = "7a0c1b2e-0000-4000-8000-0000000000d1"
POLICY = "7a0c1b2e-0000-4000-8000-0000000000e1"
RULE = "7a0c1b2e-0000-4000-8000-0000000000f1"


def member(member_id, address, **kw):
    return dm.Member(member_id=member_id, pool_id=POOL, address=address, protocol_port=8080,
                     admin_state_up=True, weight=1, backup=False, project_id=PROJECT,
                     subnet_id=None, monitor_address=None, monitor_port=None, **kw)


def health_monitor():
    return dm.HealthMonitor(healthmonitor_id=MONITOR, pool_id=POOL, type="HTTP", delay=5,
                            timeout=3, max_retries=3, max_retries_down=3, http_method="GET",
                            url_path="/health", expected_codes="200", admin_state_up=True,
                            project_id=PROJECT, name="hm")


def pool(with_children=True):
    return dm.Pool(pool_id=POOL, loadbalancer_id=LB, protocol="HTTP",
                   lb_algorithm="ROUND_ROBIN", admin_state_up=True, name="web-pool",
                   description="", session_persistence=None, project_id=PROJECT,
                   tls_enabled=False, tls_container_ref=None, tls_container_data=None,
                   members=[member(MEMBER_1, "192.0.2.11")] if with_children else [],
                   healthmonitor=health_monitor() if with_children else None)


def rule():
    return dm.L7Rule(l7rule_id=RULE, l7policy_id=POLICY, type="PATH",
                     compare_type="STARTS_WITH", value="/admin", invert=False,
                     admin_state_up=True, project_id=PROJECT)


def policy(with_rules=True):
    return dm.L7Policy(l7policy_id=POLICY, listener_id=LISTENER, action="REJECT", position=1,
                       admin_state_up=True, name="deny-admin", project_id=PROJECT,
                       redirect_pool_id=None, redirect_url=None,
                       rules=[rule()] if with_rules else [])


def listener(with_children=True, **kw):
    return dm.Listener(listener_id=LISTENER, loadbalancer_id=LB, protocol="HTTP",
                       protocol_port=80, admin_state_up=True, name="web", description=None,
                       connection_limit=-1, default_pool_id=POOL if with_children else None,
                       default_pool=pool() if with_children else None,
                       l7policies=[policy()] if with_children else [],
                       insert_headers={}, sni_container_refs=[], sni_container_data=[],
                       timeout_client_data=50000, timeout_member_connect=5000,
                       timeout_member_data=50000, timeout_tcp_inspect=0,
                       project_id=PROJECT, **kw)


def load_balancer(with_children=True):
    return dm.LoadBalancer(
        loadbalancer_id=LB, project_id=PROJECT, name="web", description="",
        admin_state_up=True, vip_address="203.0.113.20",
        vip_port_id="7a0c1b2e-0000-4000-8000-0000000000ff",
        vip_subnet_id="7a0c1b2e-0000-4000-8000-0000000000fe",
        vip_network_id="7a0c1b2e-0000-4000-8000-0000000000fd",
        vip_qos_policy_id=None, flavor={}, availability_zone=None,
        listeners=[listener()] if with_children else [],
        pools=[pool()] if with_children else [])
