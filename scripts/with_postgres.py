"""Run a command against a real PostgreSQL server.

    python scripts/with_postgres.py CMD ARGS...

With DATABASE_URL set, that server is used as it is. Otherwise a throwaway cluster is created
from the installed PostgreSQL binaries in a temporary directory, listening on 127.0.0.1 only,
and removed afterwards. initdb refuses to run as root, so as root the cluster belongs to the
`postgres` system user that Debian's package creates.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time


def find_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def as_owner(cmd: list[str], owner: str | None) -> list[str]:
    return ["runuser", "-u", owner, "--", *cmd] if owner else cmd


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    if os.environ.get("DATABASE_URL"):
        return subprocess.call(argv)
    initdb, pg_ctl = find_bin("initdb"), find_bin("pg_ctl")
    if not initdb or not pg_ctl:
        message = "PostgreSQL is not installed (apt-get install postgresql): PostgreSQL tests skipped"
        if os.environ.get("YINGJI_REQUIRE_ALL_TESTS"):
            print(message.replace("skipped", "required in CI"), file=sys.stderr)
            return 1
        print(message, file=sys.stderr)
        return 0
    owner = None
    if os.geteuid() == 0:
        owner = "postgres"
        try:
            pwd.getpwnam(owner)
        except KeyError:
            subprocess.check_call(["useradd", "--system", "--no-create-home", owner])
    base = tempfile.mkdtemp(prefix="yingji-pg-")
    data = os.path.join(base, "data")
    port = free_port()
    if owner:
        shutil.chown(base, owner)
    log = os.path.join(base, "server.log")
    subprocess.check_call(as_owner([initdb, "-D", data, "-U", "yingji", "--auth=trust", "-E", "UTF8",
                                    "--locale=C.UTF-8"], owner), stdout=subprocess.DEVNULL)
    options = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={base} -c fsync=on"
    subprocess.check_call(as_owner([pg_ctl, "-D", data, "-l", log, "-o", options, "-w", "start"], owner),
                          stdout=subprocess.DEVNULL)
    try:
        for _ in range(50):
            if subprocess.call(["pg_isready", "-h", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL) == 0:
                break
            time.sleep(0.1)
        subprocess.check_call(as_owner([find_bin("createdb") or "createdb", "-h", "127.0.0.1", "-p", str(port),
                                        "-U", "yingji", "yingji"], owner))
        env = dict(os.environ, DATABASE_URL=f"postgres://yingji@127.0.0.1:{port}/yingji")
        print(f"PostgreSQL {data} on 127.0.0.1:{port}", file=sys.stderr, flush=True)
        return subprocess.call(argv, env=env)
    finally:
        subprocess.call(as_owner([pg_ctl, "-D", data, "-m", "fast", "-w", "stop"], owner), stdout=subprocess.DEVNULL)
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
