"""`make cluster`: the demo as several instances, to try on one machine.

Starts a throwaway PostgreSQL and Redis (as the tests do: tests/services.py), brings the
database's schema up to date, starts three `interaction-center serve` processes on the demo
configuration (config/interaction-center.toml) with routing in that Redis, and HAProxy on
config/haproxy.cfg in front of them, at its default addresses: HTTP on 127.0.0.1:8080,
SMTP on 127.0.0.1:2525. Everything stops on Ctrl-C, and the servers' data goes with them.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.services import start_postgres, start_redis  # noqa: E402  (after the path above)

INSTANCES = 3
HTTP_PORT, SMTP_PORT, SINK_PORT = 8080, 2525, 2600


def main() -> int:
    haproxy = shutil.which("haproxy")
    if haproxy is None:
        print("make cluster: haproxy is not installed (scripts/ensure-services installs it)", file=sys.stderr)
        return 1
    stops: list[Callable[[], None]] = []
    processes: list[subprocess.Popen[bytes]] = []
    try:
        database, why, stop = start_postgres()
        stops.append(stop)
        if database is None:
            print(f"make cluster: {why}", file=sys.stderr)
            return 1
        redis, why, stop = start_redis()
        stops.append(stop)
        if redis is None:
            print(f"make cluster: {why}", file=sys.stderr)
            return 1
        env = {
            **os.environ,
            "IC_DATABASE_URL": database,
            "IC_REDIS_URL": redis,
            # What Twilio signs and links point at is HAProxy's address, not an instance's;
            # the client's address is read from the X-Forwarded-For HAProxy adds.
            "IC_HTTP_PUBLIC_BASE_URL": f"http://127.0.0.1:{HTTP_PORT}",
            "IC_HTTP_TRUSTED_PROXIES": "127.0.0.1",
        }
        command = [sys.executable, "-m", "interaction_center"]
        subprocess.run([*command, "db", "upgrade"], env=env, check=True, cwd=ROOT)
        ports = {"CLUSTER_HTTP_PORT": str(HTTP_PORT), "CLUSTER_SMTP_PORT": str(SMTP_PORT)}
        # One after the other: each seeds the demo roster in the shared database as it starts.
        for number in range(1, INSTANCES + 1):
            http, smtp = HTTP_PORT + number, SMTP_PORT + number
            ports[f"INSTANCE{number}_HTTP_PORT"], ports[f"INSTANCE{number}_SMTP_PORT"] = str(http), str(smtp)
            serve = [*command, "serve", "--port", str(http), "--smtp-port", str(smtp)]
            # The demo's mail sink (its stand-in relay) is each instance's own, on a port
            # of its own: the demo configuration's would be HAProxy's SMTP port.
            own = {**env, "IC_SMTP_RELAY_PORT": str(SINK_PORT + number)}
            processes.append(subprocess.Popen(serve, env=own, cwd=ROOT))
            wait_healthy(http, processes[-1])
        processes.append(subprocess.Popen([haproxy, "-f", str(ROOT / "config" / "haproxy.cfg"), "-db"], env=ports))
        print(
            f"\nThree instances behind HAProxy: http://127.0.0.1:{HTTP_PORT}/agent/ (alice / alice-demo),"
            f" http://127.0.0.1:{HTTP_PORT}/supervisor/ (sam / sam-demo), SMTP on 127.0.0.1:{SMTP_PORT};"
            f" the instances on ports {HTTP_PORT + 1}-{HTTP_PORT + INSTANCES}.\n"
            f"PostgreSQL: {database}\nRedis: {redis}\nCtrl-C stops it all.\n",
            flush=True,
        )
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in reversed(processes):
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
        for stop in reversed(stops):
            stop()


def wait_healthy(port: int, process: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if process.poll() is not None:
            raise SystemExit(f"make cluster: the instance on port {port} exited during start-up")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    raise SystemExit(f"make cluster: the instance on port {port} did not become healthy")


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    # Stopped by `kill` as by Ctrl-C: the servers stop with it.
    signal.signal(signal.SIGTERM, _interrupted)
    sys.exit(main())
