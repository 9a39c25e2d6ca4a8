"""How long Octavia waits on the provider driver: the latency of `listener_update` (one PUT of a
listener) and of a graph `loadbalancer_create` (seven objects in one PUT), against the real
Fulcrum binary on SQLite, in three runs, each on a fresh Fulcrum. Prints figures; asserts
nothing.

    FULCRUM_BINARY=target/debug/fulcrum .venv-provider/bin/python \\
        deploy/octavia-provider/benchmarks/driver_latency.py
"""

import os
import statistics
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

import conftest  # noqa: E402
import models as m  # noqa: E402
from octavia_lib.api.drivers import data_models as dm  # noqa: E402

from fulcrum_octavia import client as fulcrum_client  # noqa: E402
from fulcrum_octavia.driver import FulcrumProviderDriver  # noqa: E402

UPDATES = 200
CREATES = 50


def fresh_tree():
    """A whole load balancer graph with new ids."""
    lb = m.load_balancer()
    lb.loadbalancer_id = str(uuid.uuid4())
    listener = lb.listeners[0]
    listener.listener_id = str(uuid.uuid4())
    listener.loadbalancer_id = lb.loadbalancer_id
    pool = listener.default_pool
    pool.pool_id = str(uuid.uuid4())
    pool.loadbalancer_id = lb.loadbalancer_id
    listener.default_pool_id = pool.pool_id
    lb.pools = [pool]
    for member in pool.members:
        member.member_id = str(uuid.uuid4())
        member.pool_id = pool.pool_id
    pool.healthmonitor.healthmonitor_id = str(uuid.uuid4())
    pool.healthmonitor.pool_id = pool.pool_id
    policy = listener.l7policies[0]
    policy.l7policy_id = str(uuid.uuid4())
    policy.listener_id = listener.listener_id
    policy.rules[0].l7rule_id = str(uuid.uuid4())
    policy.rules[0].l7policy_id = policy.l7policy_id
    return lb


def percentile(values, p):
    return sorted(values)[max(0, int(len(values) * p) - 1)]


def one_run():
    fulcrum = conftest.Fulcrum(tempfile.mkdtemp(prefix="fulcrum-latency-"))
    fulcrum.start()
    try:
        driver = FulcrumProviderDriver(
            client=fulcrum_client.FulcrumClient(fulcrum.url), backend_provider="noop")
        driver.loadbalancer_create(m.load_balancer(with_children=False))
        driver.listener_create(m.listener(with_children=False))
        fulcrum.wait_for(f"/v2/lbaas/listeners/{m.LISTENER}", "listener", "ACTIVE")
        updates = []
        for i in range(UPDATES):
            start = time.perf_counter()
            driver.listener_update(m.listener(with_children=False),
                                   dm.Listener(listener_id=m.LISTENER, connection_limit=100 + i))
            updates.append(time.perf_counter() - start)
        creates = []
        for _ in range(CREATES):
            lb = fresh_tree()
            start = time.perf_counter()
            driver.loadbalancer_create(lb)
            creates.append(time.perf_counter() - start)
        return updates, creates
    finally:
        fulcrum.kill()


def main():
    for run in range(1, 4):
        updates, creates = one_run()
        print(f"run {run}: listener_update p50 {statistics.median(updates) * 1000:.1f} ms, "
              f"p95 {percentile(updates, 0.95) * 1000:.1f} ms; graph create of 7 objects "
              f"p50 {statistics.median(creates) * 1000:.1f} ms, "
              f"p95 {percentile(creates, 0.95) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
