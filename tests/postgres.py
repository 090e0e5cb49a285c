"""A throwaway PostgreSQL cluster for the tests (issue 15), and a fresh database per test.

Either ``CERTCLI_TEST_PG_ADMIN_URL`` names a running server (``.ci/run`` may start one), or
the first test that needs PostgreSQL starts a cluster of its own: ``initdb`` + ``pg_ctl`` in
a temporary folder, listening only on a unix socket in that folder (no TCP port to collide
with), trust authentication for the local ``postgres`` role.  The server refuses to run as
root, so under root it runs as the ``postgres`` user (``runuser -u postgres --``).
Durability is switched off (``fsync=off``): the cluster is thrown away after the run.

Each test gets a database of its own (``CREATE DATABASE``), so tests never see each
other's rows; ``database_url()`` returns its URL.  Under CI a missing PostgreSQL fails the
test (conftest.need_tool's rule), elsewhere it skips.
"""
from __future__ import annotations

import atexit
import glob
import itertools
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

_cluster: "Cluster | None" = None
_counter = itertools.count()


def _bindir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(candidates[-1]).parent if candidates else None


def _as_postgres(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", "postgres", "--", *argv]


class Cluster:
    def __init__(self, bindir: Path):
        self.bindir = bindir
        # short: a unix socket path must stay under ~100 bytes
        self.folder = Path(tempfile.mkdtemp(prefix="certcli-pg-"))
        self.data = self.folder / "data"
        self.socket_dir = self.folder
        if os.geteuid() == 0:
            shutil.chown(self.folder, user="postgres", group="postgres")
        os.chmod(self.folder, 0o755)

    def start(self) -> None:
        run = lambda argv: subprocess.run(_as_postgres(argv), check=True,  # noqa: E731
                                          capture_output=True, text=True, timeout=120)
        run([str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
             "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"])
        options = (f"-k {self.socket_dir} -c listen_addresses='' -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300")
        run([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "log"),
             "-o", options, "-w", "-t", "60", "start"])
        atexit.register(self.stop)

    def stop(self) -> None:
        subprocess.run(_as_postgres([str(self.bindir / "pg_ctl"), "-D", str(self.data),
                                     "-m", "immediate", "stop"]), capture_output=True, timeout=60)
        shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql://postgres@/{database}?host={self.socket_dir}"


def admin_url() -> str:
    """The URL of a maintenance database on a running server, starting the cluster once."""
    global _cluster
    given = os.environ.get("CERTCLI_TEST_PG_ADMIN_URL")
    if given:
        return given
    if _cluster is None:
        bindir = _bindir()
        if bindir is None or not (bindir / "initdb").exists():
            message = "PostgreSQL (initdb, pg_ctl) is not installed"
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(message + " (required under CI)")
            pytest.skip(message)
        cluster = Cluster(bindir)
        cluster.start()
        _cluster = cluster
    return _cluster.url("postgres")


def database_url() -> str:
    """A new, empty database on the test server; its URL."""
    import psycopg

    base = admin_url()
    name = f"t{os.getpid()}_{next(_counter)}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    prefix, _, query = base.partition("?")
    root = prefix.rsplit("/", 1)[0]
    return f"{root}/{name}" + (f"?{query}" if query else "")


def selected_backend() -> str:
    """Which store the store-backed tests run on: ``CERTCLI_TEST_BACKEND`` = sqlite (default)
    or postgres.  CI runs the backend-sensitive tests once with each."""
    backend = os.environ.get("CERTCLI_TEST_BACKEND", "sqlite").strip().lower()
    if backend not in ("sqlite", "postgres"):
        raise pytest.UsageError(f"CERTCLI_TEST_BACKEND must be sqlite or postgres, not {backend!r}")
    return backend
