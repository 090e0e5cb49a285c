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
import itertools
import os
import uuid

import pytest

_cluster = None   # bench.pgcluster.Cluster, started by the first test that needs it
_counter = itertools.count()


# Durability off: the cluster is thrown away after the run; room for the many-process races.
TEST_SETTINGS = ("-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                 "-c max_connections=300")


def admin_url() -> str:
    """The URL of a maintenance database on a running server, starting the cluster once."""
    global _cluster
    given = os.environ.get("CERTCLI_TEST_PG_ADMIN_URL")
    if given:
        return given
    if _cluster is None:
        from bench.pgcluster import Cluster

        try:
            cluster = Cluster(TEST_SETTINGS, prefix="certcli-pg-")
        except RuntimeError as error:     # PostgreSQL is not installed
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(f"{error} (required under CI)")
            pytest.skip(str(error))
        cluster.start()
        atexit.register(cluster.stop)
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
