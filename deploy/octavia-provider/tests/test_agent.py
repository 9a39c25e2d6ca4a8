"""The provider agent: every status change Fulcrum settles reaches Octavia's side (a recording
stand-in for octavia-lib's DriverLibrary), in order, across restarts of the agent and of
Fulcrum."""

import time

import models as m
from octavia_lib.api.drivers import data_models as dm
from octavia_lib.api.drivers import exceptions

from fulcrum_octavia import agent
from fulcrum_octavia import client as fulcrum_client
from fulcrum_octavia.driver import FulcrumProviderDriver


def follow_until(follower, driver_lib, wanted, timeout=20):
    """Run the follower until `wanted` (id -> provisioning status) was handed over."""
    deadline = time.monotonic() + timeout
    while True:
        follower.step()
        last = driver_lib.provisioning()
        if all(last.get(k) == v for k, v in wanted.items()):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"never handed over {wanted}: {last}")
        time.sleep(0.05)


def feed(fulcrum):
    _, page = fulcrum.get("/v2/fulcrum/provider/status?after=0&limit=1000")
    return page["entries"]


def test_every_status_reaches_octavia_across_restarts(fulcrum, client, driver_lib, tmp_path):
    cursor_file = agent.CursorFile(str(tmp_path / "agent" / "cursor"))
    driver = FulcrumProviderDriver(client=client, backend_provider="noop")
    follower = agent.StatusFollower(client, driver_lib, cursor_file, batch_size=2)

    driver.loadbalancer_create(m.load_balancer())
    tree = [m.LB, m.LISTENER, m.POOL, m.MEMBER_1, m.MONITOR, m.POLICY, m.RULE]
    follow_until(follower, driver_lib, {i: "ACTIVE" for i in tree})
    handed = len(driver_lib.status_updates)
    assert cursor_file.load() == follower.cursor > 0

    # Changes while the agent is down, then Fulcrum killed too.
    driver.listener_update(m.listener(), dm.Listener(listener_id=m.LISTENER, name="new"))
    fulcrum.wait_for(f"/v2/lbaas/listeners/{m.LISTENER}", "listener", "ACTIVE")
    driver.member_delete(m.member(m.MEMBER_1, "192.0.2.11"))
    fulcrum.wait_for(f"/v2/lbaas/pools/{m.POOL}/members/{m.MEMBER_1}", "member", "DELETED")
    fulcrum.kill()
    fulcrum.start()

    # A new agent process resumes from the stored cursor; Octavia's side is briefly down.
    driver_lib.fail_next = 1
    restarted = agent.StatusFollower(
        fulcrum_client.FulcrumClient(fulcrum.url), driver_lib, cursor_file, batch_size=2)
    assert restarted.cursor == follower.cursor
    try:
        restarted.step()
    except ConnectionRefusedError:
        pass
    assert restarted.cursor == follower.cursor, "nothing was skipped while Octavia was down"
    follow_until(restarted, driver_lib, {m.MEMBER_1: "DELETED", m.LISTENER: "ACTIVE"})
    driver.loadbalancer_delete(m.load_balancer(), cascade=True)
    follow_until(restarted, driver_lib, {i: "DELETED" for i in tree})

    # Every entry of the feed was handed over exactly once, in cursor order.
    while restarted.step():
        pass
    entries = feed(fulcrum)
    assert [e["cursor"] for e in entries] == list(range(1, len(entries) + 1))
    assert restarted.cursor == entries[-1]["cursor"]
    assert driver_lib.status_updates == [e["status"] for e in entries if e["status"]]
    assert driver_lib.statistics_updates == [e["statistics"] for e in entries
                                             if e["statistics"]]
    assert len(driver_lib.status_updates) > handed


def test_the_agent_runs_until_told_to_stop(fulcrum, client, driver_lib, tmp_path):
    import threading

    driver = FulcrumProviderDriver(client=client, backend_provider="noop")
    driver.loadbalancer_create(m.load_balancer(with_children=False))
    stop = threading.Event()
    follower = agent.StatusFollower(client, driver_lib, agent.CursorFile(str(tmp_path / "c")),
                                    poll_interval=0.05)
    runner = threading.Thread(target=follower.run, args=(stop,))
    runner.start()
    try:
        deadline = time.monotonic() + 20
        while driver_lib.provisioning().get(m.LB) != "ACTIVE":
            assert time.monotonic() < deadline, driver_lib.status_updates
            time.sleep(0.05)
    finally:
        stop.set()
        runner.join(timeout=10)
    assert not runner.is_alive()


def test_octavias_refusal_of_an_entry_does_not_block_the_feed(fulcrum, client, tmp_path):
    class Refusing:
        def __init__(self):
            self.seen = []

        def update_loadbalancer_status(self, status):
            self.seen.append(status)
            raise exceptions.UpdateStatusError(fault_string="no such load balancer",
                                               status_object="loadbalancers",
                                               status_object_id=m.LB,
                                               status_record=None)

        def update_listener_statistics(self, statistics):
            pass

    driver = FulcrumProviderDriver(client=client, backend_provider="noop")
    driver.loadbalancer_create(m.load_balancer(with_children=False))
    fulcrum.wait_for(f"/v2/lbaas/loadbalancers/{m.LB}", "loadbalancer", "ACTIVE")
    refusing = Refusing()
    follower = agent.StatusFollower(client, refusing, agent.CursorFile(str(tmp_path / "c")))
    deadline = time.monotonic() + 20
    while not refusing.seen:
        follower.step()
        assert time.monotonic() < deadline
    assert follower.cursor >= 1
