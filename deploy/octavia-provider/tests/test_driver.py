"""The provider driver against the real Fulcrum: what Fulcrum holds after each of Octavia's
calls, and Octavia's errors when Fulcrum refuses or cannot be reached."""

import pytest
from octavia_lib.api.drivers import data_models as dm
from octavia_lib.api.drivers import exceptions

import models as m
from fulcrum_octavia import client as fulcrum_client
from fulcrum_octavia.driver import FulcrumProviderDriver


@pytest.fixture
def driver(client):
    return FulcrumProviderDriver(client=client, backend_provider="noop")


def test_a_graph_create_lands_under_octavias_ids(fulcrum, driver):
    driver.loadbalancer_create(m.load_balancer())
    lb = fulcrum.wait_for(f"/v2/lbaas/loadbalancers/{m.LB}", "loadbalancer", "ACTIVE")
    assert lb["project_id"] == m.PROJECT
    assert lb["vip_address"] == "203.0.113.20"
    assert lb["provider"] == "noop"
    assert lb["listeners"] == [{"id": m.LISTENER}]
    assert lb["pools"] == [{"id": m.POOL}]
    _, listener = fulcrum.get(f"/v2/lbaas/listeners/{m.LISTENER}")
    assert listener["listener"]["default_pool_id"] == m.POOL
    assert listener["listener"]["l7policies"] == [{"id": m.POLICY}]
    _, rules = fulcrum.get(f"/v2/lbaas/l7policies/{m.POLICY}/rules")
    assert [r["id"] for r in rules["rules"]] == [m.RULE]
    _, hm = fulcrum.get(f"/v2/lbaas/healthmonitors/{m.MONITOR}")
    assert hm["healthmonitor"]["url_path"] == "/health"
    _, members = fulcrum.get(f"/v2/lbaas/pools/{m.POOL}/members")
    assert [x["id"] for x in members["members"]] == [m.MEMBER_1]

    # Octavia repeating a call changes nothing.
    driver.loadbalancer_create(m.load_balancer())
    assert fulcrum.get(f"/v2/lbaas/loadbalancers/{m.LB}")[1]["loadbalancer"] == lb


def test_every_call_octavia_makes(fulcrum, driver):
    lb_path = f"/v2/lbaas/loadbalancers/{m.LB}"
    driver.loadbalancer_create(m.load_balancer(with_children=False))
    fulcrum.wait_for(lb_path, "loadbalancer", "ACTIVE")
    driver.loadbalancer_update(m.load_balancer(with_children=False),
                               dm.LoadBalancer(loadbalancer_id=m.LB, name="renamed"))
    assert fulcrum.wait_for(lb_path, "loadbalancer", "ACTIVE")["name"] == "renamed"

    created = m.listener(with_children=False, allowed_cidrs=["198.51.100.0/24"])
    driver.listener_create(created)
    driver.listener_update(created, dm.Listener(listener_id=m.LISTENER, connection_limit=100))
    listener = fulcrum.wait_for(f"/v2/lbaas/listeners/{m.LISTENER}", "listener", "ACTIVE")
    assert listener["connection_limit"] == 100
    assert listener["name"] == "web", "fields the update did not name are kept"
    assert listener["allowed_cidrs"] == ["198.51.100.0/24"], "lists too"

    created = m.pool(with_children=False)
    created.loadbalancer_id = None
    created.listener_id = m.LISTENER
    driver.pool_create(created)
    fulcrum.wait_for(f"/v2/lbaas/pools/{m.POOL}", "pool", "ACTIVE")
    _, listener = fulcrum.get(f"/v2/lbaas/listeners/{m.LISTENER}")
    assert listener["listener"]["default_pool_id"] == m.POOL
    driver.pool_update(m.pool(with_children=False),
                       dm.Pool(pool_id=m.POOL, lb_algorithm="LEAST_CONNECTIONS"))
    pool = fulcrum.wait_for(f"/v2/lbaas/pools/{m.POOL}", "pool", "ACTIVE")
    assert pool["lb_algorithm"] == "LEAST_CONNECTIONS"

    driver.member_create(m.member(m.MEMBER_1, "192.0.2.11"))
    driver.member_update(m.member(m.MEMBER_1, "192.0.2.11"),
                         dm.Member(member_id=m.MEMBER_1, pool_id=m.POOL, weight=5))
    member_path = f"/v2/lbaas/pools/{m.POOL}/members/{m.MEMBER_1}"
    assert fulcrum.wait_for(member_path, "member", "ACTIVE")["weight"] == 5
    driver.member_batch_update(m.POOL, [m.member(m.MEMBER_2, "192.0.2.12")])
    fulcrum.wait_for(member_path, "member", "DELETED")
    fulcrum.wait_for(f"/v2/lbaas/pools/{m.POOL}/members/{m.MEMBER_2}", "member", "ACTIVE")
    driver.member_delete(m.member(m.MEMBER_2, "192.0.2.12"))
    fulcrum.wait_for(f"/v2/lbaas/pools/{m.POOL}/members/{m.MEMBER_2}", "member", "DELETED")

    hm_path = f"/v2/lbaas/healthmonitors/{m.MONITOR}"
    driver.health_monitor_create(m.health_monitor())
    driver.health_monitor_update(m.health_monitor(),
                                 dm.HealthMonitor(healthmonitor_id=m.MONITOR, delay=7))
    assert fulcrum.wait_for(hm_path, "healthmonitor", "ACTIVE")["delay"] == 7
    driver.health_monitor_delete(m.health_monitor())
    fulcrum.wait_for(hm_path, "healthmonitor", "DELETED")

    driver.l7policy_create(m.policy())
    driver.l7policy_update(m.policy(), dm.L7Policy(l7policy_id=m.POLICY, name="deny"))
    policy = fulcrum.wait_for(f"/v2/lbaas/l7policies/{m.POLICY}", "l7policy", "ACTIVE")
    assert policy["name"] == "deny"
    assert policy["rules"] == [{"id": m.RULE}]
    driver.l7rule_update(m.rule(), dm.L7Rule(l7rule_id=m.RULE, l7policy_id=m.POLICY,
                                             value="/private"))
    rule_path = f"/v2/lbaas/l7policies/{m.POLICY}/rules/{m.RULE}"
    assert fulcrum.wait_for(rule_path, "rule", "ACTIVE")["value"] == "/private"
    driver.l7rule_delete(m.rule())
    fulcrum.wait_for(rule_path, "rule", "DELETED")
    driver.l7rule_create(m.rule())
    fulcrum.wait_for(rule_path, "rule", "ACTIVE")
    driver.l7policy_delete(m.policy())
    fulcrum.wait_for(f"/v2/lbaas/l7policies/{m.POLICY}", "l7policy", "DELETED")

    driver.loadbalancer_failover(m.LB)
    fulcrum.wait_for(lb_path, "loadbalancer", "ACTIVE")

    driver.listener_delete(m.listener(with_children=False))
    fulcrum.wait_for(f"/v2/lbaas/listeners/{m.LISTENER}", "listener", "DELETED")
    driver.loadbalancer_delete(m.load_balancer(with_children=False), cascade=True)
    fulcrum.wait_for(lb_path, "loadbalancer", "DELETED")
    assert fulcrum.get(f"/v2/lbaas/pools/{m.POOL}")[0] == 404


def test_what_fulcrums_backend_cannot_do_is_unsupported_option(fulcrum, client):
    driver = FulcrumProviderDriver(client=client, backend_provider="haproxy")
    lb = m.load_balancer()
    lb.listeners[0].protocol = "SCTP"
    lb.listeners[0].default_pool = None
    lb.listeners[0].default_pool_id = None
    lb.listeners[0].l7policies = []
    with pytest.raises(exceptions.UnsupportedOptionError) as refused:
        driver.loadbalancer_create(lb)
    assert "SCTP protocol listeners are not supported." in refused.value.user_fault_string
    assert fulcrum.get(f"/v2/lbaas/loadbalancers/{m.LB}")[0] == 404, "nothing half-created"


def test_a_refused_rule_leaves_no_policy(fulcrum, driver):
    driver.loadbalancer_create(m.load_balancer(with_children=False))
    driver.listener_create(m.listener(with_children=False))
    policy = m.policy()
    policy.rules[0].type = "HEADER"  # a HEADER rule needs a key
    with pytest.raises(exceptions.DriverError):
        driver.l7policy_create(policy)
    fulcrum.wait_for(f"/v2/lbaas/l7policies/{m.POLICY}", "l7policy", "DELETED")


def test_an_unreachable_fulcrum_is_a_driver_error(fulcrum):
    fulcrum.kill()
    driver = FulcrumProviderDriver(
        client=fulcrum_client.FulcrumClient(fulcrum.url, timeout=(1, 2)))
    with pytest.raises(exceptions.DriverError) as failed:
        driver.loadbalancer_create(m.load_balancer())
    assert "unreachable" in failed.value.user_fault_string
    fulcrum.start()
    assert fulcrum.get(f"/v2/lbaas/loadbalancers/{m.LB}")[0] == 404, "nothing half-created"


def test_flavor_and_zone_metadata_are_fulcrums(fulcrum, driver, client):
    _, caps = fulcrum.get("/v2/lbaas/providers/noop/flavor_capabilities")
    expected = {c["name"]: c["description"] for c in caps["flavor_capabilities"]}
    assert driver.get_supported_flavor_metadata() == expected
    _, caps = fulcrum.get("/v2/lbaas/providers/noop/availability_zone_capabilities")
    expected = {c["name"]: c["description"] for c in caps["availability_zone_capabilities"]}
    assert driver.get_supported_availability_zone_metadata() == expected
    # The backend's driver judges: Fulcrum's noop accepts any metadata, as Octavia's does ...
    driver.validate_flavor({"no_such_key": 1})
    driver.validate_availability_zone({"compute_zone": "az1", "management_network": "n"})
    # ... and HAProxy only its own keys and values, in its words.
    haproxy = FulcrumProviderDriver(client=client, backend_provider="haproxy")
    haproxy.validate_flavor({"nbthread": 2})
    with pytest.raises(exceptions.UnsupportedOptionError) as refused:
        haproxy.validate_flavor({"no_such_key": 1})
    assert refused.value.user_fault_string == "Unsupported flavor metadata key(s): no_such_key"
    with pytest.raises(exceptions.UnsupportedOptionError):
        haproxy.validate_flavor({"nbthread": "many"})
    with pytest.raises(exceptions.UnsupportedOptionError) as refused:
        haproxy.validate_availability_zone({"compute_zone": "az1"})
    assert "compute_zone" in refused.value.user_fault_string
    with pytest.raises(exceptions.DriverError):
        FulcrumProviderDriver(client=client, backend_provider="nonesuch").validate_flavor({})
