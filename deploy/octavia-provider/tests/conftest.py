"""Test fixtures: the real Fulcrum binary on the noop provider, SQLite in a temporary directory,
a port of its own, no Keystone; and a stand-in for Octavia's side of the driver library."""

import os
import signal
import socket
import subprocess
import threading
import time

import pytest
import requests

from fulcrum_octavia import client as fulcrum_client

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def _binary():
    binary = os.environ.get("FULCRUM_BINARY") or os.path.join(ROOT, "target", "debug", "fulcrum")
    if not os.access(binary, os.X_OK):
        pytest.exit(f"no Fulcrum binary at {binary}: build it or set FULCRUM_BINARY", 2)
    return binary


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Fulcrum:
    """A `fulcrum serve` of this test: killed (SIGKILL) by `kill`, started again on the same
    database and port by `start`."""

    def __init__(self, work):
        self.work = str(work)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = os.path.join(self.work, "fulcrum.toml")
        self.log_path = os.path.join(self.work, "fulcrum.log")
        self.proc = None
        os.makedirs(os.path.join(self.work, "certificates"), exist_ok=True)
        with open(self.config, "w") as f:
            f.write(f"""[server]
bind = "127.0.0.1:{self.port}"
shutdown_grace_seconds = 1

[database]
url = "sqlite://{self.work}/fulcrum.db"

[log]
level = "info,sqlx=warn"

[providers]
enabled = ["noop", "haproxy"]
default = "noop"
certificates_dir = "{self.work}/certificates"

[providers.haproxy]
binary = "/usr/sbin/haproxy"
state_dir = "{self.work}/haproxy"

[network]
driver = "noop"

[certificates]
backend = "noop"

[reconciler]
poll_interval_ms = 50
retry_base_ms = 50
observe_interval_seconds = 1
""")

    def start(self):
        self.proc = subprocess.Popen(
            [_binary(), "--config", self.config, "serve"],
            env=dict(os.environ, NO_COLOR="1"),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=open(self.log_path, "ab"),
            text=True,
        )
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"fulcrum did not start; see {self.log_path}")
            if line.startswith("fulcrum listening on "):
                break
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def get(self, path):
        """GET as an administrator (noauth: no project); returns (status, body)."""
        r = requests.get(self.url + path, timeout=10)
        return r.status_code, (r.json() if r.content else None)

    def wait_for(self, path, root, status, timeout=20):
        """Poll until `root.provisioning_status` is `status` (or 404 for DELETED)."""
        deadline = time.monotonic() + timeout
        while True:
            code, body = self.get(path)
            if status == "DELETED" and code == 404:
                return None
            if code == 200 and body[root]["provisioning_status"] == status:
                return body[root]
            if time.monotonic() > deadline:
                raise AssertionError(f"{path} never reached {status}: {code} {body}")
            time.sleep(0.05)


@pytest.fixture
def fulcrum(tmp_path):
    server = Fulcrum(tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def client(fulcrum):
    return fulcrum_client.FulcrumClient(fulcrum.url)


class RecordingDriverLibrary:
    """A stand-in for octavia-lib's DriverLibrary, i.e. for Octavia's side: it records every
    status and statistics update it is handed, as Octavia's driver agent would apply them."""

    def __init__(self):
        self.status_updates = []
        self.statistics_updates = []
        self.fail_next = 0

    def update_loadbalancer_status(self, status):
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionRefusedError("Octavia's driver agent is not running")
        self.status_updates.append(status)

    def update_listener_statistics(self, statistics):
        self.statistics_updates.append(statistics)

    def provisioning(self):
        """The last provisioning status handed over for each object id."""
        last = {}
        for update in self.status_updates:
            for objects in update.values():
                for o in objects:
                    if "provisioning_status" in o:
                        last[o["id"]] = o["provisioning_status"]
        return last


@pytest.fixture
def driver_lib():
    return RecordingDriverLibrary()
