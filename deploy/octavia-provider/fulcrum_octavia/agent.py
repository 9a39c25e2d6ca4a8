"""The provider agent: follows Fulcrum's status feed and hands each entry to Octavia.

Octavia's `octavia-driver-agent` runs `run` (entry point `octavia.driver_agent.provider_agents`,
name `fulcrum`) in a process of its own. Entries are read in cursor order from
`GET /v2/fulcrum/provider/status?after=CURSOR`; each one's statuses go to
`DriverLibrary.update_loadbalancer_status` and its counters to `update_listener_statistics`,
and only then is its cursor written (atomically) to `[fulcrum] status_cursor_file`. A restart
of the agent or of Fulcrum resumes from the last entry handed over: an entry may be handed over
twice (statuses and cumulative counters are the same the second time), never lost.
"""

import json
import logging
import os
import tempfile

from octavia_lib.api.drivers import exceptions

LOG = logging.getLogger(__name__)


class CursorFile:
    """The cursor of the last entry handed to Octavia, kept in a file."""

    def __init__(self, path):
        self.path = path

    def load(self):
        """The stored cursor; 0 when there is none yet."""
        try:
            with open(self.path) as f:
                return int(json.load(f)["cursor"])
        except FileNotFoundError:
            return 0

    def store(self, cursor):
        """Replace the stored cursor, atomically and durably."""
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".fulcrum-cursor-")
        try:
            with os.fdopen(fd, "w") as f:
                json.dump({"cursor": cursor}, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise


class StatusFollower:
    """Hands Fulcrum's status feed to Octavia's driver library.

    :param client: a `client.FulcrumClient`.
    :param driver_lib: octavia-lib's `DriverLibrary` (or anything with its
        `update_loadbalancer_status` and `update_listener_statistics`).
    :param cursor_file: a `CursorFile`.
    """

    def __init__(self, client, driver_lib, cursor_file, batch_size=100, poll_interval=1.0):
        self.client = client
        self.driver_lib = driver_lib
        self.cursor_file = cursor_file
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.cursor = cursor_file.load()

    def step(self):
        """Read one page of the feed and hand it over; returns how many entries were handled.
        Raises when Fulcrum or Octavia cannot be reached (the cursor then stays where it
        was)."""
        page = self.client.status_feed(self.cursor, self.batch_size) or {}
        entries = page.get("entries", [])
        for entry in entries:
            self._hand_over(entry)
            self.cursor = entry["cursor"]
            self.cursor_file.store(self.cursor)
        return len(entries)

    def _hand_over(self, entry):
        try:
            if entry.get("status"):
                self.driver_lib.update_loadbalancer_status(entry["status"])
            if entry.get("statistics"):
                self.driver_lib.update_listener_statistics(entry["statistics"])
        except (exceptions.UpdateStatusError, exceptions.UpdateStatisticsError) as e:
            # Octavia read the update and refused part of it (an object it no longer has):
            # repeating it would be refused again.
            LOG.warning("Octavia refused status feed entry %s: %s", entry.get("cursor"),
                        getattr(e, "fault_string", e))

    def run(self, exit_event):
        """Follow the feed until `exit_event` is set."""
        LOG.info("Following Fulcrum's status feed from cursor %s", self.cursor)
        while not exit_event.is_set():
            try:
                handled = self.step()
            except Exception as e:  # Fulcrum or Octavia's driver agent unreachable: retry
                LOG.warning("Status feed: %s; retrying from cursor %s", e, self.cursor)
                handled = 0
            if handled < self.batch_size:
                exit_event.wait(self.poll_interval)


def run(exit_event):
    """Entry point of the provider agent (`enabled_provider_agents = fulcrum`)."""
    from octavia_lib.api.drivers import driver_lib
    from oslo_config import cfg

    from fulcrum_octavia import client as fulcrum_client
    from fulcrum_octavia import config

    config.register_opts(cfg.CONF)
    group = cfg.CONF.fulcrum
    follower = StatusFollower(
        fulcrum_client.from_conf(cfg.CONF),
        _driver_library(driver_lib, cfg.CONF),
        CursorFile(group.status_cursor_file),
        batch_size=group.status_batch_size,
        poll_interval=group.status_poll_interval,
    )
    follower.run(exit_event)


def _driver_library(driver_lib, conf):
    """The driver library on the sockets of Octavia's `[driver_agent]` section (Octavia
    registers it in the driver agent's process), or octavia-lib's defaults."""
    try:
        section = conf.driver_agent
        return driver_lib.DriverLibrary(
            status_socket=section.status_socket_path,
            stats_socket=section.stats_socket_path,
            get_socket=section.get_socket_path,
        )
    except Exception:  # no [driver_agent] section registered: octavia-lib's default paths
        return driver_lib.DriverLibrary()
