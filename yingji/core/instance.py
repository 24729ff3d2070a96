"""A throwaway Yingji install in its own data directory, driven through the real `yingji` CLI.

The kill test and the benchmarks use it so they measure exactly what a hospital runs: a plan
imported from the shipped template, a user with a token, and `yingji run` serving on loopback.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Instance:
    def __init__(self, data_dir: Path, database_url: str | None = None):
        self.data_dir = data_dir
        self.env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
        self.env["YINGJI_DATA_DIR"] = str(data_dir)
        if database_url:
            self.env["DATABASE_URL"] = database_url
        self.port = free_port()
        self.server: subprocess.Popen[bytes] | None = None

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "yingji.sqlite3"

    def cli(self, *args: str) -> str:
        out = subprocess.run([sys.executable, "-m", "yingji.cli", *args], env=self.env, capture_output=True,
                             text=True, timeout=300)
        if out.returncode != 0:
            raise RuntimeError(f"yingji {' '.join(args)} failed: {out.stderr}")
        return out.stdout.strip()

    def setup(self, language: str = "zh", user: str = "ward-pc", role: str = "reporter",
              plan_text: str | None = None) -> str:
        """Publish the shipped plan (or `plan_text`) and return an API token for a user with `role`."""
        template = self.data_dir / f"plan-{language}.yaml"
        if plan_text is None:
            self.cli("plan", "template", language, "-o", str(template))
        else:
            template.write_text(plan_text, encoding="utf-8")
        self.cli("plan", "import", str(template), "--publish")
        self.cli("user", "add", user, "--role", role)
        return self.cli("token", "create", user)

    def worker(self, **env: str) -> subprocess.Popen[bytes]:
        """A `yingji worker` process of its own (kill it with os.kill(p.pid, SIGKILL))."""
        return subprocess.Popen([sys.executable, "-m", "yingji.cli", "worker"], env={**self.env, **env},
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self, workers: int = 2, threads: int = 4, worker: bool = False) -> None:
        args = [sys.executable, "-m", "yingji.cli", "run", "--port", str(self.port), "--workers", str(workers),
                "--threads", str(threads)]
        if not worker:
            args.append("--no-worker")
        # Own session, so kill() reaches the gunicorn master, its workers and the timer worker at once.
        self.server = subprocess.Popen(args, env=self.env, start_new_session=True, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
        self.wait_healthy()

    def wait_healthy(self, deadline_s: float = 30) -> float:
        started = time.monotonic()
        while time.monotonic() - started < deadline_s:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    return time.monotonic() - started
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the server did not come up")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.server and self.server.poll() is None:
            os.killpg(self.server.pid, sig)
        if self.server:
            self.server.wait()


@contextmanager
def fresh_postgres_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the server of `server_url`, dropped afterwards."""
    import psycopg

    name = f"yingji_{uuid.uuid4().hex[:10]}"
    admin = urlparse(server_url)._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlparse(server_url)._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
