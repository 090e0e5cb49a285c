"""The store opened read-only for verification's few lookups.

A module of its own, imported only when a local verification opens the home's store
(:meth:`certcli.verification.context.Context.load`): ``verify`` in remote mode reads
:mod:`certcli.verification.context` (the verdict, the file-size cap) and must load
neither :mod:`certcli.store` nor ``sqlite3``.
"""
from __future__ import annotations

from pathlib import Path

from certcli.store import RowQueries


class ReadOnlyStore(RowQueries):
    """The store, opened read-only for the few lookups verification makes.

    Verifying never writes: no WAL set-up, no migration, nothing created.  A
    damaged or foreign file surfaces as ``sqlite3.Error``, which the CLI
    reports as ``store_corrupt``.  (The number + name lookup alone writes: it
    counts its misses in the store at ``path``, see :mod:`certcli.oracles`.)
    """

    def __init__(self, path: Path):
        import sqlite3

        self.path = Path(path)
        self.conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)

    def close(self) -> None:
        self.conn.close()
