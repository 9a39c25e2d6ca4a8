#!/usr/bin/env python3
"""Run a throwaway Keystone for Fulcrum's tests.

    run_keystone.py --state-dir DIR --port PORT --admin-password PW [--token-expiration SECONDS]
                    [--threads N] [--remove-state]

Writes DIR/keystone-PORT.conf (SQLite database DIR/keystone.db, fernet keys under DIR), creates
and bootstraps the database unless DIR already holds a bootstrapped one (so a second server can
serve the same database and keys), then serves Keystone with gunicorn on 127.0.0.1:PORT and prints
"keystone ready" once GET /v3 answers.

It leaves nothing behind: it stops gunicorn and exits when its standard input reaches end of file
(the test process that holds the other end of the pipe ended or closed it), when gunicorn exits,
and on SIGTERM/SIGINT. gunicorn runs in its own process group, which is killed as a whole.
"""

import argparse
import ctypes
import os
import select
import shutil
import signal
import sqlite3
import subprocess
import sys
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.path.dirname(sys.executable)


def write_config(state, port, expiration):
    path = os.path.join(state, f"keystone-{port}.conf")
    with open(path, "w") as f:
        f.write(
            f"""[DEFAULT]
log_file = {state}/keystone-{port}.log
[database]
# Two servers may share the database (see the module's doc): wait for locks instead of failing.
connection = sqlite:///{state}/keystone.db?timeout=30
[token]
provider = fernet
expiration = {expiration}
[fernet_tokens]
key_repository = {state}/fernet
[fernet_receipts]
key_repository = {state}/fernet
[credential]
key_repository = {state}/credential
[identity]
# Tests create many users and tokens; the cheapest bcrypt keeps that fast.
password_hash_rounds = 4
"""
        )
    return path


def manage(config, *commands):
    """Run keystone-manage once per command, all at the same time; exit if any fails."""
    running = []
    for args in commands:
        cmd = [os.path.join(BIN, "keystone-manage"), "--config-file", config, *args]
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        running.append((cmd, proc))
    for cmd, proc in running:
        output, _ = proc.communicate()
        if proc.returncode != 0:
            sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{output}")


def bootstrap(state, config, port, password):
    marker = os.path.join(state, "bootstrapped")
    if os.path.exists(marker):
        return
    ids = ["--keystone-user", str(os.getuid()), "--keystone-group", str(os.getgid())]
    # Each keystone-manage spends seconds importing Keystone; the key repositories do not
    # depend on the database, so the three run side by side.
    manage(config, ["db_sync"], ["fernet_setup", *ids], ["credential_setup", *ids])
    manage(
        config,
        [
            "bootstrap",
            "--bootstrap-password", password,
            "--bootstrap-public-url", f"http://127.0.0.1:{port}/v3",
            "--bootstrap-region-id", "RegionOne",
        ],
    )
    # Write-ahead logging: readers never block the writer, so two servers on one database (and
    # the threads of each) rarely meet a locked database. The mode is stored in the file.
    with sqlite3.connect(os.path.join(state, "keystone.db")) as db:
        db.execute("PRAGMA journal_mode=WAL")
    open(marker, "w").close()


def die_with_parent():
    """In the gunicorn child: get SIGKILL if this launcher dies, even by SIGKILL."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--admin-password", required=True)
    parser.add_argument("--token-expiration", type=int, default=3600)
    parser.add_argument(
        "--threads",
        type=int,
        default=8,
        help="gunicorn threads; 1 serializes requests, so that concurrent writes never meet "
        "SQLite's 'database is locked'",
    )
    parser.add_argument(
        "--remove-state",
        action="store_true",
        help="remove the state directory on exit (for a server nobody else cleans up after)",
    )
    args = parser.parse_args()

    state = os.path.abspath(args.state_dir)
    os.makedirs(state, exist_ok=True)
    config = write_config(state, args.port, args.token_expiration)
    bootstrap(state, config, args.port, args.admin_password)

    # No __pycache__ next to the wrapper module in the source tree.
    env = dict(os.environ, OS_KEYSTONE_CONFIG_FILES=config, PYTHONDONTWRITEBYTECODE="1")
    log_path = os.path.join(state, f"gunicorn-{args.port}.log")
    log = open(log_path, "wb")
    server = subprocess.Popen(
        [
            os.path.join(BIN, "gunicorn"),
            "--pythonpath", HERE,
            "--bind", f"127.0.0.1:{args.port}",
            "--workers", "1",
            "--threads", str(args.threads),
            "--graceful-timeout", "1",
            "--timeout", "120",
            "keystone_app:application",
        ],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        start_new_session=True,
        preexec_fn=die_with_parent,
    )

    stopping = []

    def stop(*_):
        stopping.append(True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    url = f"http://127.0.0.1:{args.port}/v3"
    listening = f"Listening at: http://127.0.0.1:{args.port} ({server.pid})"
    ready = False
    try:
        while not stopping:
            if server.poll() is not None:
                print(f"keystone failed: gunicorn exited with {server.returncode}", flush=True)
                return 1
            # Only this gunicorn's answers count: wait until it has bound the port.
            if not ready and listening in read(log_path):
                try:
                    with urllib.request.urlopen(url, timeout=2) as resp:
                        ready = resp.status == 200
                except OSError:
                    pass
                if ready:
                    print("keystone ready", flush=True)
            # Readable standard input is either data (ignored) or end of file.
            readable, _, _ = select.select([0], [], [], 0.5 if ready else 0.1)
            if readable and not os.read(0, 4096):
                break
        return 0
    finally:
        try:
            os.killpg(server.pid, signal.SIGINT)
            server.wait(timeout=3)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        try:
            os.killpg(server.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        server.wait()
        if args.remove_state:
            shutil.rmtree(state, ignore_errors=True)


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


if __name__ == "__main__":
    sys.exit(main())
