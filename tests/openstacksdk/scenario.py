"""openstacksdk drives a Fulcrum load-balancer API end to end.

Usage: scenario.py CLOUDS_YAML CLOUD SUBNET_NAME
Prints one JSON object with what the test asserts on; exits non-zero on any SDK error.
"""

import json
import os
import sys

import openstack


def main():
    clouds, cloud, subnet_name = sys.argv[1:4]
    os.environ["OS_CLIENT_CONFIG_FILE"] = clouds
    conn = openstack.connect(cloud=cloud)
    lbs = conn.load_balancer
    out = {}

    subnet = conn.network.find_subnet(subnet_name, ignore_missing=False)
    lb = lbs.create_load_balancer(name="sdk-lb", vip_subnet_id=subnet.id)
    lb = lbs.wait_for_load_balancer(lb.id, status="ACTIVE", interval=0.2, wait=60)
    out["lb"] = {"status": lb.provisioning_status, "vip": lb.vip_address,
                 "subnet": lb.vip_subnet_id}

    def settle():
        lbs.wait_for_load_balancer(lb.id, status="ACTIVE", interval=0.2, wait=60)

    listener = lbs.create_listener(name="web", protocol="HTTP", protocol_port=80,
                                   load_balancer_id=lb.id)
    settle()
    pool = lbs.create_pool(name="p1", protocol="HTTP", lb_algorithm="ROUND_ROBIN",
                           listener_id=listener.id)
    settle()
    member = lbs.create_member(pool, address="127.0.0.1", protocol_port=8080, weight=2)
    settle()
    lbs.update_member(member, pool, weight=5)
    settle()
    out["member_weight"] = lbs.get_member(member, pool).weight
    hm = lbs.create_health_monitor(pool_id=pool.id, type="HTTP", delay=5, timeout=3,
                                   max_retries=3)
    settle()
    out["hm_url_path"] = lbs.get_health_monitor(hm).url_path
    policy = lbs.create_l7_policy(listener_id=listener.id, action="REJECT", name="deny")
    settle()
    rule = lbs.create_l7_rule(policy, type="PATH", compare_type="STARTS_WITH",
                              value="/admin")
    settle()
    out["rule_value"] = lbs.get_l7_rule(rule, policy).rule_value
    out["listener_names"] = sorted(li.name for li in lbs.listeners(load_balancer_id=lb.id))
    out["members"] = len(list(lbs.members(pool)))
    stats = lbs.get_load_balancer_statistics(lb.id)
    out["stats_total_connections"] = stats.total_connections

    project = "0123456789abcdef0123456789abcdef"
    lbs.update_quota(project, load_balancers=7, listeners=-1)
    quota = lbs.get_quota(project)
    out["quota"] = {"load_balancers": quota.load_balancers, "listeners": quota.listeners}
    out["quota_default_load_balancers"] = lbs.get_quota_default().load_balancers
    lbs.delete_quota(project)
    out["quota_after_delete"] = lbs.get_quota(project).load_balancers

    profile = lbs.create_flavor_profile(name="sdk-fp", provider_name="noop",
                                        flavor_data='{"amp_image_tag": "edge"}')
    flavor = lbs.create_flavor(name="sdk-small", flavor_profile_id=profile.id, enabled=True)
    out["flavor_profile"] = lbs.get_flavor(flavor.id).flavor_profile_id == profile.id

    lbs.delete_load_balancer(lb, cascade=True)
    lbs.wait_for_delete(lb, interval=0.2, wait=60)
    out["remaining"] = [x.name for x in lbs.load_balancers()]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
