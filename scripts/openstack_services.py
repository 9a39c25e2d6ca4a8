"""The OpenStack services the conformance and end-to-end scripts run Fulcrum among, each a real
process on loopback: Keystone (tests/keystone/run_keystone.py under gunicorn, SQLite), Fulcrum in
Keystone mode, and Octavia (from PyPI: its API under gunicorn on a MariaDB database of its own,
and its driver agent running Fulcrum's provider agent) delegating to Fulcrum. Standard library
only, so that any of the scripts' Python environments can import it.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAUNCHER = os.path.join(ROOT, "tests", "keystone", "run_keystone.py")

OCTAVIA_VENV = os.path.join(ROOT, ".venv-octavia-e2e")
OCTAVIA_VENV_PYTHON = os.path.join(OCTAVIA_VENV, "bin", "python")
OCTAVIA_REQUIREMENTS = [
    os.environ.get("CONFORMANCE_OCTAVIA", "octavia==19.0.0"),
    "pymysql",
    os.environ.get("CONFORMANCE_GUNICORN", "gunicorn==27.0.1"),
]

ADMIN_PASSWORD = "Conformance-Admin-Pa55"
SERVICE_USER = "fulcrum"
SERVICE_PROJECT = "service"
SERVICE_PASSWORD = "Fulcrum-Conformance-Svc-7c41"
# Octavia's service user (with --behind-octavia): validates tokens for Octavia's API and is the
# user its provider driver calls Fulcrum as.
OCTAVIA_USER = "octavia"
OCTAVIA_PASSWORD = "Octavia-Conformance-Svc-2b93"
REGION = "RegionOne"
# Roles octavia-tempest-plugin gives its credentials (keystone's defaults and Octavia's
# deprecated load-balancer_* roles), and `service` for Fulcrum's own user.
ROLES = [
    "admin",
    "member",
    "reader",
    "service",
    "load-balancer_member",
    "load-balancer_observer",
    "load-balancer_global_observer",
    "load-balancer_admin",
    "load-balancer_quota_admin",
]


def log(msg):
    print(f"[{os.path.basename(sys.argv[0])}] {msg}", flush=True)


def ensure_venv(venv, requirements):
    """A virtualenv at `venv` holding `requirements`, installed once (a marker file remembers
    what was installed)."""
    python = os.path.join(venv, "bin", "python")
    marker = os.path.join(venv, ".installed-requirements")
    wanted = "\n".join(requirements) + "\n"
    if os.path.exists(marker) and open(marker).read() == wanted:
        return
    if not os.path.exists(python):
        log(f"creating {venv}")
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    log("installing " + " ".join(requirements))
    subprocess.run([python, "-m", "pip", "install", "-q", *requirements], check=True)
    with open(marker, "w") as f:
        f.write(wanted)


def mariadb(python, statement):
    """Run one statement as MariaDB's root at 127.0.0.1:3306, with `python`'s pymysql."""
    subprocess.run(
        [python, "-c",
         "import pymysql, sys; pymysql.connect(host='127.0.0.1', port=3306, user='root')"
         ".cursor().execute(sys.argv[1])", statement],
        check=True,
    )


def stop_group(proc):
    """SIGTERM to a process started in a session of its own and its children; SIGKILL after 15
    seconds."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


def wait_http(url, proc, what, work):
    """Wait until `url` answers (any HTTP status); SystemExit when `proc` ends first or after
    two minutes."""
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except urllib.error.HTTPError:
            return
        except (urllib.error.URLError, OSError) as e:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{what} did not start ({e}); see {work}")
            time.sleep(0.5)


def ensure_octavia_venv():
    """The virtualenv of Octavia's API and driver agent, with the provider package installed
    from a copy of deploy/octavia-provider (building it leaves nothing in the repository)."""
    ensure_venv(OCTAVIA_VENV, OCTAVIA_REQUIREMENTS)
    with tempfile.TemporaryDirectory(prefix="fulcrum-octavia-src-") as src:
        subprocess.run(["cp", "-r", os.path.join(ROOT, "deploy", "octavia-provider", "."), src],
                       check=True)
        subprocess.run([OCTAVIA_VENV_PYTHON, "-m", "pip", "install", "-q", "--no-deps",
                        "--force-reinstall", src], check=True)


# --------------------------------------------------------------------------------------------
# Processes


def die_with_parent():
    """In a child: get SIGKILL if this script dies, even by SIGKILL."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Keystone:
    """tests/keystone/run_keystone.py: Keystone stops when the launcher's stdin is closed."""

    def __init__(self, state, python):
        self.state = state
        self.python = python
        self.proc = None
        self.url = None

    def start(self):
        failures = []
        for _ in range(3):
            port = free_port()
            launcher_log = open(os.path.join(self.state, f"launcher-{port}.log"), "wb")
            proc = subprocess.Popen(
                [
                    self.python, LAUNCHER,
                    "--state-dir", self.state,
                    "--port", str(port),
                    "--admin-password", ADMIN_PASSWORD,
                    "--token-expiration", str(6 * 3600),
                    # Serialized requests: tempest's two workers create and delete users and
                    # projects at the same time, which SQLite otherwise sometimes refuses with
                    # "database is locked" (a 500 that fails the test class).
                    "--threads", "1",
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=launcher_log,
                text=True,
                preexec_fn=die_with_parent,
            )
            line = proc.stdout.readline().strip()
            if line == "keystone ready":
                # Keep draining the launcher's output so that it never blocks on a full pipe.
                threading.Thread(target=lambda p=proc: [None for _ in p.stdout], daemon=True).start()
                self.proc = proc
                self.url = f"http://127.0.0.1:{port}/v3"
                return
            failures.append(f"port {port}: {line or 'no output'}")
            self.stop_proc(proc)
        raise SystemExit(
            "Keystone did not start: " + "; ".join(failures) + f" (logs in {self.state})"
        )

    @staticmethod
    def stop_proc(proc):
        try:
            proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def stop(self):
        if self.proc is not None:
            self.stop_proc(self.proc)
            self.proc = None


class KeystoneAdmin:
    """The bootstrap admin on Keystone's REST API."""

    def __init__(self, url):
        self.url = url
        body = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {
                            "name": "admin",
                            "domain": {"id": "default"},
                            "password": ADMIN_PASSWORD,
                        }
                    },
                },
                "scope": {"project": {"name": "admin", "domain": {"id": "default"}}},
            }
        }
        _, headers, _ = self.call("POST", "/auth/tokens", body, token=None)
        self.token = headers["X-Subject-Token"]

    def call(self, method, path, body=None, token="self", expect=None):
        data = json.dumps(body).encode() if body is not None else None
        for attempt in range(1, 6):
            req = urllib.request.Request(self.url + path, data=data, method=method)
            req.add_header("Content-Type", "application/json")
            if token == "self":
                req.add_header("X-Auth-Token", self.token)
            try:
                with urllib.request.urlopen(req, timeout=60) as resp:
                    text = resp.read().decode()
                    return resp.status, resp.headers, json.loads(text) if text else None
            except urllib.error.HTTPError as e:
                text = e.read().decode(errors="replace")
                # SQLite's "database is locked" is a 500 whose transaction did not happen.
                if e.code >= 500 and attempt < 5:
                    time.sleep(0.3 * attempt)
                    continue
                if expect and e.code in expect:
                    return e.code, e.headers, json.loads(text) if text else None
                raise SystemExit(f"Keystone {method} {path}: {e.code} {text}")

    def find(self, kind, query):
        _, _, v = self.call("GET", f"/{kind}?{query}")
        return v[kind][0]["id"] if v[kind] else None

    def ensure(self, kind, root, body, query):
        found = self.find(kind, query)
        if found:
            return found
        _, _, v = self.call("POST", f"/{kind}", {root: body})
        return v[root]["id"]

    def setup(self):
        """The roles Octavia's clients use, and Fulcrum's service user."""
        self.roles = {
            name: self.ensure("roles", "role", {"name": name}, f"name={name}") for name in ROLES
        }
        self.service_user(SERVICE_USER, SERVICE_PASSWORD, ["service"])

    def service_user(self, name, password, roles):
        """A user of the service project with `roles` there."""
        self.project_user(SERVICE_PROJECT, name, password, roles)

    def project_user(self, project_name, name, password, roles):
        """A user of project `project_name` (made if missing) with `roles` there; the project's
        id."""
        project = self.ensure(
            "projects",
            "project",
            {"name": project_name, "domain_id": "default"},
            f"name={project_name}&domain_id=default",
        )
        user = self.ensure(
            "users",
            "user",
            {
                "name": name,
                "password": password,
                "domain_id": "default",
                "default_project_id": project,
            },
            f"name={name}&domain_id=default",
        )
        for role in roles:
            self.call("PUT", f"/projects/{project}/users/{user}/roles/{self.roles[role]}")
        return project

    def register(self, service_type, name, url):
        """`url` as the public, internal and admin endpoint of a new catalog service."""
        self.call("POST", "/regions", {"region": {"id": REGION}}, expect=(409,))
        _, _, v = self.call(
            "POST",
            "/services",
            {"service": {"type": service_type, "name": name, "enabled": True}},
        )
        service = v["service"]["id"]
        for interface in ("public", "internal", "admin"):
            self.call(
                "POST",
                "/endpoints",
                {
                    "endpoint": {
                        "service_id": service,
                        "interface": interface,
                        "url": url,
                        "region_id": REGION,
                    }
                },
            )


class Fulcrum:
    """`fulcrum serve` in Keystone mode on a port of its own, kept across restarts."""

    def __init__(self, binary, work, keystone_url, extra_toml=None, provider="noop",
                 network="noop"):
        self.binary = binary
        self.work = work
        self.config = os.path.join(work, "fulcrum.toml")
        self.log_path = os.path.join(work, "fulcrum.log")
        self.proc = None
        self.url = None
        toml = f"""[server]
bind = "127.0.0.1:{free_port()}"
shutdown_grace_seconds = 5

[database]
url = "sqlite://{work}/fulcrum.db"

[log]
level = "info,sqlx=warn"

[providers]
enabled = {json.dumps(sorted({"noop", provider}))}
default = "{provider}"
certificates_dir = "{work}/certificates"

[providers.haproxy]
state_dir = "{work}/haproxy"

[providers.noop]
latency_ms = 0

# "noop" takes what Octavia's noop network driver accepts: any subnet, network and port;
# "builtin" serves its configured subnets in Neutron's shape, for clients that look them up.
[network]
driver = "{network}"

# What Octavia's noop certificate manager accepts: any certificate reference.
[certificates]
backend = "noop"

[reconciler]
poll_interval_ms = 100
retry_base_ms = 50
observe_interval_seconds = 1

[auth]
strategy = "keystone"

[auth.keystone]
auth_url = "{keystone_url}"
username = "{SERVICE_USER}"
password = "{SERVICE_PASSWORD}"
project_name = "{SERVICE_PROJECT}"
user_domain_name = "Default"
project_domain_name = "Default"
cache_seconds = 300
timeout_seconds = 10

[policy]
enforce_new_defaults = false
"""
        if extra_toml:
            toml += "\n# from --fulcrum-toml " + extra_toml + "\n" + open(extra_toml).read()
        os.makedirs(os.path.join(work, "certificates"), exist_ok=True)
        with open(self.config, "w") as f:
            f.write(toml)

    def start(self):
        check = subprocess.run(
            [self.binary, "--config", self.config, "check-config"],
            capture_output=True,
            text=True,
        )
        if check.returncode != 0:
            raise SystemExit(f"fulcrum check-config failed:\n{check.stdout}{check.stderr}")
        self.proc = subprocess.Popen(
            [self.binary, "--config", self.config, "serve"],
            # A log file without terminal colours.
            env=dict(os.environ, NO_COLOR="1"),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=open(self.log_path, "ab"),
            text=True,
            preexec_fn=die_with_parent,
        )
        line = self.proc.stdout.readline().strip()
        prefix = "fulcrum listening on "
        if not line.startswith(prefix):
            self.stop()
            raise SystemExit(f"fulcrum did not start ({line!r}); see {self.log_path}")
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()
        self.url = line[len(prefix):].rstrip("/")

    def stop(self):
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


class Octavia:
    """A real Octavia delegating to Fulcrum: its API under gunicorn (Keystone authentication) and
    its driver agent running Fulcrum's provider agent, on a MariaDB database of its own."""

    def __init__(self, work, keystone_url, backend_provider="noop"):
        self.work = os.path.join(work, "octavia")
        self.backend_provider = backend_provider
        os.makedirs(self.work)
        self.database = "octavia_conformance_" + os.urandom(4).hex()
        self.url = None
        self.keystone_url = keystone_url
        self.conf = os.path.join(self.work, "octavia.conf")
        self.procs = []
        self.created_database = False

    def bin(self, name):
        return os.path.join(OCTAVIA_VENV, "bin", name)

    def mariadb(self, statement):
        mariadb(OCTAVIA_VENV_PYTHON, statement)

    def write_conf(self, port):
        work, ks = self.work, self.keystone_url
        auth = f"""auth_type = password
auth_url = {ks}
username = {OCTAVIA_USER}
password = {OCTAVIA_PASSWORD}
project_name = {SERVICE_PROJECT}
user_domain_name = Default
project_domain_name = Default
"""
        with open(self.conf, "w") as f:
            f.write(f"""[DEFAULT]
debug = False
log_dir = {work}
transport_url = rabbit://guest:guest@127.0.0.1:5672/

[api_settings]
bind_host = 127.0.0.1
bind_port = {port}
auth_strategy = keystone
enabled_provider_drivers = fulcrum:Load balancers realized by Fulcrum.
default_provider_driver = fulcrum

[database]
connection = mysql+pymysql://root@127.0.0.1:3306/{self.database}

[keystone_authtoken]
www_authenticate_uri = {ks}
# The bootstrap Keystone has only a public identity endpoint.
interface = public
service_token_roles_required = True
{auth}
[oslo_policy]
enforce_scope = False
enforce_new_defaults = False

[controller_worker]
network_driver = network_noop_driver
compute_driver = compute_noop_driver
amphora_driver = amphora_noop_driver

[certificates]
cert_manager = noop_cert_manager

[driver_agent]
status_socket_path = {work}/status.sock
stats_socket_path = {work}/stats.sock
get_socket_path = {work}/get.sock
enabled_provider_agents = fulcrum

[fulcrum]
# Fulcrum's endpoint comes from the catalog (service type "fulcrum").
backend_provider = {self.backend_provider}
status_cursor_file = {work}/fulcrum-status-cursor
status_poll_interval = 0.2
{auth}""")

    def spawn(self, name, argv):
        proc = subprocess.Popen(
            argv, cwd=self.work, stdin=subprocess.DEVNULL,
            stdout=open(os.path.join(self.work, f"{name}.out"), "ab"),
            stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=die_with_parent,
        )
        self.procs.append(proc)
        return proc

    def start(self):
        self.mariadb(f"CREATE DATABASE {self.database}")
        self.created_database = True
        port = free_port()
        self.write_conf(port)
        subprocess.run([self.bin("octavia-db-manage"), "--config-file", self.conf,
                        "upgrade", "head"], check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(self.work, "octavia_wsgi.py"), "w") as f:
            f.write("from octavia.api import app\n"
                    f"application = app.setup_app(argv=['octavia-api', '--config-file', "
                    f"{self.conf!r}])\n")
        api = self.spawn("octavia-api", [
            self.bin("gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "1",
            "--worker-class", "gthread", "--threads", "8", "--timeout", "120",
            "--pythonpath", self.work, "octavia_wsgi:application",
        ])
        self.spawn("octavia-driver-agent",
                   [self.bin("octavia-driver-agent"), "--config-file", self.conf])
        self.url = f"http://127.0.0.1:{port}"
        wait_http(self.url + "/", api, "Octavia's API", self.work)

    def stop(self):
        for proc in reversed(self.procs):
            stop_group(proc)
        self.procs = []
        if self.created_database:
            self.mariadb(f"DROP DATABASE IF EXISTS {self.database}")
            self.created_database = False


def get_json(url, path, token):
    req = urllib.request.Request(url + path, headers={"X-Auth-Token": token})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read().decode())


NEUTRON_VENV = os.path.join(ROOT, ".venv-neutron")
NEUTRON_VENV_PYTHON = os.path.join(NEUTRON_VENV, "bin", "python")
NEUTRON_REQUIREMENTS = [
    os.environ.get("E2E_NEUTRON", "neutron==29.0.0"),
    "pymysql",
    os.environ.get("CONFORMANCE_GUNICORN", "gunicorn==27.0.1"),
]


def ensure_neutron_venv():
    """The virtualenv of neutron-server."""
    ensure_venv(NEUTRON_VENV, NEUTRON_REQUIREMENTS)


class Neutron:
    """A real neutron-server (its API under gunicorn) on a MariaDB database of its own: ML2 with
    VLAN tenant networks and no mechanism driver (no agent is needed to allocate ports), the
    router and QoS service plugins, and no authentication (every request is an administrator's,
    as Fulcrum's service user is)."""

    def __init__(self, work):
        self.work = os.path.join(work, "neutron")
        os.makedirs(self.work)
        self.database = "neutron_e2e_" + os.urandom(4).hex()
        self.created_database = False
        self.proc = None
        self.url = None

    def mariadb(self, statement):
        mariadb(NEUTRON_VENV_PYTHON, statement)

    def start(self):
        work = self.work
        paste = os.path.join(NEUTRON_VENV, "etc", "neutron", "api-paste.ini")
        with open(os.path.join(work, "neutron.conf"), "w") as f:
            f.write(f"""[DEFAULT]
core_plugin = ml2
service_plugins = router,qos
auth_strategy = noauth
api_paste_config = {paste}
transport_url = rabbit://guest:guest@127.0.0.1:5672/
log_file = {work}/neutron.log
[database]
connection = mysql+pymysql://root@127.0.0.1:3306/{self.database}
[oslo_concurrency]
lock_path = {work}/locks
""")
        with open(os.path.join(work, "ml2_conf.ini"), "w") as f:
            f.write("""[ml2]
type_drivers = vlan
tenant_network_types = vlan
mechanism_drivers =
extension_drivers = port_security,qos
[ml2_type_vlan]
network_vlan_ranges = physnet1:100:200
""")
        self.mariadb(f"CREATE DATABASE {self.database}")
        self.created_database = True
        subprocess.run([os.path.join(NEUTRON_VENV, "bin", "neutron-db-manage"),
                        "--config-file", os.path.join(work, "neutron.conf"),
                        "--config-file", os.path.join(work, "ml2_conf.ini"), "upgrade", "heads"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(os.path.join(work, "neutron_wsgi.py"), "w") as f:
            f.write("import os, sys\n"
                    f"os.environ['OS_NEUTRON_CONFIG_DIR'] = {work!r}\n"
                    "os.environ['OS_NEUTRON_CONFIG_FILES'] = 'neutron.conf;ml2_conf.ini'\n"
                    "sys.argv = ['neutron-api']\n"
                    "from neutron.wsgi.api import application  # noqa: E402,F401\n")
        port = free_port()
        self.proc = subprocess.Popen(
            [os.path.join(NEUTRON_VENV, "bin", "gunicorn"), "--bind", f"127.0.0.1:{port}",
             "--workers", "1", "--worker-class", "gthread", "--threads", "4", "--timeout", "120",
             "--pythonpath", work, "neutron_wsgi:application"],
            cwd=work, stdin=subprocess.DEVNULL,
            stdout=open(os.path.join(work, "neutron-api.out"), "ab"), stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=die_with_parent,
        )
        self.url = f"http://127.0.0.1:{port}"
        wait_http(self.url + "/v2.0/networks", self.proc, "neutron-server", work)

    def call(self, method, path, body=None):
        """Neutron's API: (status, JSON answer)."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + "/v2.0" + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                raw = r.read()
                return r.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as e:
            raw = e.read()
            return e.code, json.loads(raw) if raw else None

    def create(self, kind, body):
        status, answer = self.call("POST", f"/{kind}s", {kind: body})
        if status != 201:
            raise SystemExit(f"Neutron POST /{kind}s: {status} {answer}")
        return answer[kind]

    def port(self, port_id):
        """A port, or None when Neutron has none by that id."""
        status, answer = self.call("GET", f"/ports/{port_id}")
        return answer["port"] if status == 200 else None

    def stop(self):
        if self.proc is not None:
            stop_group(self.proc)
        self.proc = None
        if self.created_database:
            self.mariadb(f"DROP DATABASE IF EXISTS {self.database}")
            self.created_database = False
