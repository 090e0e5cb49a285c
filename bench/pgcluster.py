"""A throwaway PostgreSQL server for the PostgreSQL benchmarks (bench/postgres_bench.py).

Also the tests' server (tests/postgres.py): ``initdb`` + ``pg_ctl`` in a temporary folder,
listening only on a unix socket there, trust authentication for the ``postgres`` role; run
as the ``postgres`` user when this process is root (the server refuses root).  Unlike the
tests' server (fsync off) it keeps ``fsync`` on; ``synchronous_commit = off`` gives the guarantee of
certcli's SQLite setting (WAL, ``synchronous=NORMAL``): a power cut may lose the last
commits, never corrupt the database.
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path


def bindir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(candidates[-1]).parent if candidates else None


def _as_postgres(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


# The benchmarks' settings: durable (fsync on), as a deployment would run.
BENCH_SETTINGS = "-c synchronous_commit=off -c max_connections=100 -c shared_buffers=256MB"


class Cluster:
    """One throwaway server; ``settings``: its ``-c`` options (tests/postgres.py passes its own)."""

    def __init__(self, settings: str = BENCH_SETTINGS, prefix: str = "certcli-bench-pg-"):
        folder = bindir()
        if folder is None or not (folder / "initdb").exists():
            raise RuntimeError("PostgreSQL (initdb, pg_ctl) is not installed")
        self.bindir = folder
        self.settings = settings
        self.folder = Path(tempfile.mkdtemp(prefix=prefix))
        if os.geteuid() == 0:
            shutil.chown(self.folder, user="postgres", group="postgres")
        os.chmod(self.folder, 0o755)
        self.data = self.folder / "data"
        self._counter = 0

    def _run(self, argv: list[str]) -> None:
        subprocess.run(_as_postgres(argv), check=True, capture_output=True, text=True, timeout=120)

    def start(self) -> Cluster:
        self._run([str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                   "-E", "UTF8", "--locale=C.UTF-8"])
        options = f"-k {self.folder} -c listen_addresses='' {self.settings}"
        self._run([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "log"),
                   "-o", options, "-w", "-t", "60", "start"])
        return self

    def stop(self) -> None:
        subprocess.run(_as_postgres([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop"]),
                       capture_output=True, timeout=120)
        shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@/{database}?host={self.folder}"

    def database(self, template: str | None = None) -> str:
        """A new database (a copy of ``template``, if given: fast, file-level); its URL."""
        import psycopg

        self._counter += 1
        name = f"bench{self._counter}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return self.url(name)


def database_name(url: str) -> str:
    return url.split("?", 1)[0].rsplit("/", 1)[1]
