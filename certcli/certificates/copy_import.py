"""Roster import into PostgreSQL at COPY speed (issue 15).

Parsing and checking rows is the same shared code as on SQLite
(:mod:`certcli.roster.stream`); only the storing differs.  Each batch of clean rows is
streamed with ``COPY`` into a temporary staging table (``ON COMMIT DELETE ROWS``: it is
empty again after every batch), then stored with one set-based statement:

* ``INSERT … SELECT`` of the staged rows whose number is not stored yet, in roster order,
  the first line of a number repeated within the batch only (``first``: marked while
  staging), ``ON CONFLICT DO NOTHING`` for a concurrent import: ids are given as SQLite
  gives them;
* when some row was not inserted, one join finds the staged rows whose number is stored
  for another holder: each is rejected with its line number and the same reason as on
  SQLite (``conflicting_certificate_no``); every other row that was not inserted was
  already present (the same holder: a re-run adds nothing).

Both statements probe the ``certificate_no`` index once per staged row: hash or merge
joins are switched off for them, or the planner, which knows little of a fresh batch,
may scan all the stored certificates for every batch (quadratic in the store's size).

When no number of a batch is stored yet and none repeats (a roster not seen before,
checked with one probe of the index), the batch is copied straight into ``certificates``.
The batch, its audit entry and its staging rows commit together, as on SQLite.
"""
from __future__ import annotations

from certcli.roster.parse import RowError
from certcli.roster.stream import INSERT_COLUMNS

STAGE = "certcli_import_stage"
_COLUMNS = ", ".join(INSERT_COLUMNS)
_HOLDER = ("name", "id_type", "id_number", "qualification")   # what must match for a number already stored


def _stage_ddl() -> str:
    # COLLATE "C" as the store's text columns (certcli.schema): the join uses their indexes
    types = ", ".join(f"{name} BIGINT" if name == "exam_pass_year" else f'{name} TEXT COLLATE "C"'
                      for name in INSERT_COLUMNS)
    return (f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} (line BIGINT NOT NULL, first BOOLEAN NOT NULL, {types}) "
            "ON COMMIT DELETE ROWS")


_INSERT = (f"INSERT INTO certificates ({_COLUMNS}) SELECT {_COLUMNS} FROM {STAGE} s "
           f"WHERE s.first AND NOT EXISTS (SELECT 1 FROM certificates c WHERE c.certificate_no = s.certificate_no) "
           f"ORDER BY s.line ON CONFLICT (certificate_no) DO NOTHING")
_CONFLICTS = (f"SELECT s.line, s.certificate_no FROM {STAGE} s JOIN certificates c "
              f"ON c.certificate_no = s.certificate_no "
              f"WHERE ({', '.join('c.' + n for n in _HOLDER)}) <> ({', '.join('s.' + n for n in _HOLDER)}) "
              f"ORDER BY s.line")


def store_batch(store, lines: list[int], rows: list[tuple], report, on_reject) -> int:
    """Inside the caller's write transaction: store ``rows`` (INSERT_COLUMNS order; ``lines``
    their roster lines).  Counts ``report.already_present``, rejects conflicting numbers
    (``report.reject``); returns the rows inserted."""
    if _all_new(store, rows):
        return _copy_straight_in(store, rows)
    seen: set[str] = set()
    with store.raw.cursor() as cursor:
        cursor.execute(_stage_ddl())
        with cursor.copy(f"COPY {STAGE} (line, first, {_COLUMNS}) FROM STDIN") as copy:
            for line, row in zip(lines, rows):
                first = row[0] not in seen
                seen.add(row[0])
                copy.write_row((line, first, *row))
        cursor.execute("SET LOCAL enable_hashjoin = off")
        cursor.execute("SET LOCAL enable_mergejoin = off")
        cursor.execute(_INSERT)
        inserted = max(cursor.rowcount, 0)
        conflicts = []
        if inserted < len(rows):
            cursor.execute(_CONFLICTS)
            conflicts = cursor.fetchall()
        cursor.execute("RESET enable_hashjoin")
        cursor.execute("RESET enable_mergejoin")
    for line, number in conflicts:
        report.reject(RowError(line, "conflicting_certificate_no", "certificate_no",
                               "number already issued to another holder", number), on_reject)
    report.already_present += len(rows) - inserted - len(conflicts)
    return inserted


def _all_new(store, rows: list[tuple]) -> bool:
    """The common case, a roster not seen before: no number repeated within the batch and
    none stored yet (one index probe each).  Imports hold the writer lock, so no other
    import can store one of them before this transaction commits."""
    numbers = [row[0] for row in rows]
    if len(set(numbers)) != len(numbers):
        return False
    with store.raw.cursor() as cursor:
        cursor.execute("SET LOCAL enable_hashjoin = off")
        cursor.execute("SELECT EXISTS (SELECT 1 FROM certificates WHERE certificate_no = ANY(%s))", (numbers,))
        stored = cursor.fetchone()[0]
        cursor.execute("RESET enable_hashjoin")
    return not stored


def _copy_straight_in(store, rows: list[tuple]) -> int:
    """COPY the batch into ``certificates`` itself: as fast as PostgreSQL loads rows."""
    with store.raw.cursor() as cursor:
        with cursor.copy(f"COPY certificates ({_COLUMNS}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    return len(rows)
