"""1. Roster import: certcli's import_roster vs raw sqlite3 executemany of the same rows,
and the same rows as an Excel workbook.

Each import runs in a fresh process (bench/child.py) so that its peak RSS is its
own.  CSV and workbook generation and building the raw baseline's tuples are not timed.
"""
from __future__ import annotations

import time
from pathlib import Path

from bench.common import NOW, NOW_ISO, Figure, log, run_child
from bench.rosters import INSERT_COLUMNS, write_roster, write_workbook

RATIO_TARGET = 0.50
WORKBOOK_ROWS = 100_000  # one size: writing a workbook with openpyxl takes ~15 s per 100k rows


# ----------------------------------------------------------------- child processes

def import_child(home: str, roster: str) -> dict:
    """Child: certcli's import of ``roster`` into a new store at ``home``."""
    from certcli.certificates import issuance
    from certcli.documents.glyphs import check_text_renderable
    from certcli.store import open_store

    store = open_store(Path(home), create=True)
    start = time.perf_counter()
    report = issuance.import_roster(store, Path(roster), now=NOW, check_text=check_text_renderable)
    seconds = time.perf_counter() - start
    store.close()
    return {"seconds": seconds, "rows": report.rows, "inserted": report.inserted, "rejected": report.rejected}


def parse_child(roster: str) -> dict:
    """Child: only read and check the roster (no store), to show where import time goes:
    the rows as an import takes them (``Roster.checked``, the tuples it stores)."""
    from certcli.documents.glyphs import check_text_renderable
    from certcli.roster.parse import Roster
    from certcli.rules import cst_day

    start = time.perf_counter()
    with Roster(Path(roster), today=cst_day(NOW), check_text=check_text_renderable) as parsed:
        rows = sum(1 for _ in parsed.checked(NOW_ISO))
    return {"seconds": time.perf_counter() - start, "rows": rows}


def workbook_parse_child(roster: str, stream: bool = False) -> dict:
    """Child: only read and check a workbook roster, as parse_child; ``stream``: with openpyxl's
    streaming reader, which a sheet too large for calamine gets (certcli/roster/workbook_fit.py)."""
    from certcli.documents.glyphs import check_text_renderable
    from certcli.roster import workbook_fit
    from certcli.roster.parse import Roster
    from certcli.rules import cst_day

    if stream:
        workbook_fit.MEMORY_BUDGET = 0  # nothing fits: stream it
    start = time.perf_counter()
    with Roster(Path(roster), today=cst_day(NOW), check_text=check_text_renderable) as parsed:
        rows = sum(1 for _ in parsed.checked(NOW_ISO))
        engine = parsed._sheet.engine
    return {"seconds": time.perf_counter() - start, "rows": rows, "engine": engine}


def raw_child(home: str, count: int) -> dict:
    """Child: the same rows, already parsed, inserted with one executemany in one transaction."""
    from bench.rosters import insert_tuple, row
    from certcli.store import open_store

    store = open_store(Path(home), create=True)
    rows = [insert_tuple(row(i)) for i in range(count)]
    sql = (f"INSERT INTO certificates ({', '.join(INSERT_COLUMNS)}) "
           f"VALUES ({', '.join('?' * len(INSERT_COLUMNS))})")
    start = time.perf_counter()
    store.conn.execute("BEGIN")
    store.conn.executemany(sql, rows)
    store.conn.execute("COMMIT")
    seconds = time.perf_counter() - start
    inserted = store.conn.execute("SELECT count(*) FROM certificates").fetchone()[0]
    store.close()
    return {"seconds": seconds, "rows": count, "inserted": inserted}


# ----------------------------------------------------------------- parent

def _label(count: int) -> str:
    return f"{count // 1_000_000}M" if count >= 1_000_000 else f"{count // 1000}k"


def _generated(roster: Path, count: int, write) -> Path:
    start = time.perf_counter()
    write(roster, count)
    log(f"import: generated {roster.name} ({roster.stat().st_size / 2**20:.0f} MiB) "
        f"in {time.perf_counter() - start:.1f}s (not measured)")
    return roster


def _imported(home: Path, roster: Path, count: int) -> dict:
    """certcli's import of ``roster`` in a fresh process; every row must be stored."""
    ours = run_child("bench.import_bench:import_child", home=str(home), roster=str(roster))
    if ours["inserted"] != count or ours["rejected"]:
        raise RuntimeError(f"import of {roster} stored {ours['inserted']} rows, rejected {ours['rejected']}")
    return ours


def bench_size(workdir: Path, count: int) -> tuple[list[Figure], Path]:
    label = _label(count)
    roster = _generated(workdir / f"roster-{label}.csv", count, write_roster)
    home = workdir / f"home-import-{label}"
    log(f"import: certcli import_roster, {count:,} rows (fresh process)")
    ours = _imported(home, roster, count)
    log(f"import: raw sqlite3 executemany, {count:,} rows (fresh process)")
    raw = run_child("bench.import_bench:raw_child", home=str(workdir / f"home-raw-{label}"), count=count)
    log(f"import: roster parsing alone, {count:,} rows (fresh process)")
    parse = run_child("bench.import_bench:parse_child", roster=str(roster))
    ours_rate, raw_rate = count / ours["seconds"], count / raw["seconds"]
    ratio = ours_rate / raw_rate
    section = "1 import"
    figures = [
        Figure(section, f"import_roster {label} rows", ours_rate, "rows/s", note=f"{ours['seconds']:.1f} s"),
        Figure(section, f"import_roster {label} peak RSS", ours["maxrss_mib"], "MiB", "< 300 MiB",
               ours["maxrss_mib"] < 300 and ours["children_maxrss_mib"] < 300,
               note=f"parsing worker {ours['children_maxrss_mib']:.0f} MiB"),
        Figure(section, f"  of which roster parsing alone {label}", count / parse["seconds"], "rows/s",
               note=f"{parse['seconds']:.1f} s, informational"),
        Figure(section, f"raw executemany {label} rows", raw_rate, "rows/s", note=f"{raw['seconds']:.1f} s"),
        Figure(section, f"ours/raw {label}", ratio * 100, "%", f">= {RATIO_TARGET:.0%}", ratio >= RATIO_TARGET),
    ]
    return figures, home


def bench_workbook(workdir: Path, count: int) -> list[Figure]:
    """The same rows as an .xlsx roster: the import as `admin issue` runs it, and the reading
    alone with either workbook reader (calamine whole, openpyxl streamed)."""
    label = _label(count)
    roster = _generated(workdir / f"roster-{label}.xlsx", count, write_workbook)
    log(f"import: certcli import_roster of the workbook, {count:,} rows (fresh process)")
    ours = _imported(workdir / f"home-xlsx-{label}", roster, count)
    log(f"import: workbook reading alone, {count:,} rows, calamine then openpyxl (fresh processes)")
    whole = run_child("bench.import_bench:workbook_parse_child", roster=str(roster))
    streamed = run_child("bench.import_bench:workbook_parse_child", roster=str(roster), stream=True)
    if (whole["engine"], streamed["engine"]) != ("calamine", "openpyxl"):
        raise RuntimeError(f"workbook readers used: {whole['engine']}, {streamed['engine']}")
    section = "1 import"
    worst = max(ours["maxrss_mib"], ours["children_maxrss_mib"])
    return [
        Figure(section, f"import_roster {label} rows (.xlsx)", count / ours["seconds"], "rows/s",
               note=f"{ours['seconds']:.1f} s"),
        Figure(section, f"import_roster {label} .xlsx peak RSS", worst, "MiB", "< 300 MiB", worst < 300,
               note=f"importer {ours['maxrss_mib']:.0f}, parsing worker {ours['children_maxrss_mib']:.0f} MiB"),
        Figure(section, f"  of which reading the workbook {label} (calamine)", count / whole["seconds"], "rows/s",
               note=f"{whole['seconds']:.1f} s, peak RSS {whole['maxrss_mib']:.0f} MiB, informational"),
        Figure(section, f"  streamed by openpyxl instead {label}", count / streamed["seconds"], "rows/s",
               note=f"{streamed['seconds']:.1f} s, peak RSS {streamed['maxrss_mib']:.0f} MiB: "
                    "what a sheet too large for calamine gets"),
    ]


def run(workdir: Path, sizes: list[int]) -> tuple[list[Figure], Path]:
    """Returns the figures and the home holding the largest import (for the query bench)."""
    figures: list[Figure] = []
    home = None
    for count in sizes:
        size_figures, home = bench_size(workdir, count)
        figures += size_figures
    figures += bench_workbook(workdir, WORKBOOK_ROWS)
    return figures, home
