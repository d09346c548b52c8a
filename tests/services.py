"""Throwaway PostgreSQL and Redis servers that a test may stop and start at will.

The suite's own PostgreSQL and Redis are shared with other test runs on the machine and are
never stopped; a test that needs a service to fail starts its own on a free port, in its own
directory, and removes it afterwards. PostgreSQL refuses to run as root, so as root the cluster
belongs to the ``postgres`` system user and its commands run through ``runuser``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_USER = "postgres"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, up: bool, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            if up:
                return
        except OSError:
            if not up:
                return
        time.sleep(0.05)
    raise TimeoutError(f"port {port} did not go {'up' if up else 'down'} in {timeout} s")


@dataclass
class OwnRedis:
    """A Redis without persistence (like docker-compose.yml's): a restart loses its data."""

    port: int
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, up=True)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None
        wait_for_port(self.port, up=False)


class OwnPostgres:
    """A PostgreSQL 15 cluster listening on 127.0.0.1:``port``, in a directory of its own.

    The directory is made directly under the system's temporary directory rather than under
    pytest's, whose root pytest keeps private to root (the ``postgres`` user could not reach
    it); ``remove`` deletes it.
    """

    def __init__(self, port: int) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="posture-test-pg-"))
        self.port = port
        self.data = self.directory / "data"
        self.as_root = os.geteuid() == 0

    def url(self, database: str = "posture") -> str:
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/{database}"

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", PG_USER, "--"] if self.as_root else []
        subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        if self.as_root:
            shutil.chown(self.directory, PG_USER, PG_USER)
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", PG_USER, "-A", "trust",
                  "--no-sync")

    def start(self) -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-w", "-l",
                  str(self.directory / "server.log"), "-o",
                  f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 "
                  "-c fsync=off", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-w", "-m", mode, "stop")

    def create_database(self, name: str = "posture") -> None:
        prefix = ["runuser", "-u", PG_USER, "--"] if self.as_root else []
        subprocess.run([*prefix, str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p",
                        str(self.port), "-U", PG_USER, name], check=True, capture_output=True,
                       timeout=60)

    def remove(self) -> None:
        """Stop the server if it runs, and delete its directory."""
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)
