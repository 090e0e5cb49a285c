"""9. PostgreSQL (issue 15): roster import vs a plain COPY, processing with 1, 2 and 4
concurrent ``admin process`` runs (PostgreSQL vs SQLite), list/info with the big store.

A throwaway server (bench/pgcluster.py) runs for the section.  Every measurement runs in a
fresh process (bench/child.py), as the SQLite benchmarks do.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench.common import NOW, NOW_ISO, PASSPHRASE, Figure, base_env, log, run_child
from bench.pgcluster import Cluster, database_name
from bench.rosters import INSERT_COLUMNS, write_roster

RATIO_TARGET = 0.50
RSS_TARGET_MIB = 300
RUNS = (1, 2, 4)


# ----------------------------------------------------------------- child processes

def import_child(home: str, url: str, roster: str) -> dict:
    """Child: certcli's import of ``roster`` into a new PostgreSQL store (COPY path)."""
    from certcli.certificates import issuance
    from certcli.documents.glyphs import check_text_renderable
    from certcli.store import open_store

    store = open_store(Path(home), create=True, database_url=url)
    start = time.perf_counter()
    report = issuance.import_roster(store, Path(roster), now=NOW, check_text=check_text_renderable)
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    again = issuance.import_roster(store, Path(roster), now=NOW, check_text=check_text_renderable)
    again_seconds = time.perf_counter() - start
    store.close()
    return {"seconds": seconds, "rows": report.rows, "inserted": report.inserted, "rejected": report.rejected,
            "again_seconds": again_seconds, "again_inserted": again.inserted}


def copy_child(home: str, url: str, count: int) -> dict:
    """Child: the same rows, already parsed, with one plain COPY into the certificates table
    of a new store (same schema and indexes), in one transaction."""
    from bench.rosters import insert_tuple, row
    from certcli.store import open_store

    store = open_store(Path(home), create=True, database_url=url)
    rows = [insert_tuple(row(i)) for i in range(count)]
    start = time.perf_counter()
    with store.raw.transaction(), store.raw.cursor() as cursor:
        with cursor.copy(f"COPY certificates ({', '.join(INSERT_COLUMNS)}) FROM STDIN") as copy:
            for values in rows:
                copy.write_row(values)
    seconds = time.perf_counter() - start
    stored = store.conn.execute("SELECT count(*) FROM certificates").fetchone()[0]
    store.close()
    return {"seconds": seconds, "rows": stored}


def setup_child(home: str, url: str, keys_dir: str, roster: str, count: int) -> dict:
    """Child: a store (SQLite file, or ``url``) with ``count`` pending annotations, and keys."""
    from bench.process_bench import setup_child as sqlite_setup

    os.environ.pop("CERTCLI_DATABASE_URL", None)
    if url:
        os.environ["CERTCLI_DATABASE_URL"] = url     # open_store in the shared setup reads it
    return sqlite_setup(home, keys_dir, roster, count)


def export_child(home: str, url: str, output: str) -> dict:
    """Child: ``certcli --database-url URL admin export -o FILE`` as a process of its own (the
    child's ``children_maxrss_mib`` is that process's peak RSS)."""
    from bench.common import base_env

    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "certcli", "--json", "--home", home, "--database-url", url, "admin",
                    "export", "-o", output], env=base_env(), check=True, capture_output=True)
    seconds = time.perf_counter() - start
    with open(output, "rb") as written:
        rows = sum(1 for _ in written) - 1
    os.unlink(output)
    return {"seconds": seconds, "rows": rows}


# ----------------------------------------------------------------- parent

def _label(count: int) -> str:
    return f"{count // 1_000_000}M" if count >= 1_000_000 else f"{count // 1000}k"


def bench_import(cluster: Cluster, workdir: Path, count: int) -> tuple[list[Figure], str]:
    label, section = _label(count), "9 postgres import"
    roster = workdir / f"roster-pg-{label}.csv"
    write_roster(roster, count)
    url = cluster.database()
    log(f"postgres: certcli import_roster, {count:,} rows, then the same roster again (fresh process)")
    ours = run_child("bench.postgres_bench:import_child", home=str(workdir / "home-pg-import"), url=url,
                     roster=str(roster))
    if ours["inserted"] != count or ours["rejected"] or ours["again_inserted"]:
        raise RuntimeError(f"import stored {ours['inserted']}, rejected {ours['rejected']}, "
                           f"again {ours['again_inserted']}")
    log(f"postgres: plain COPY of the same {count:,} rows (fresh process)")
    plain = run_child("bench.postgres_bench:copy_child", home=str(workdir / "home-pg-copy"), url=cluster.database(),
                      count=count)
    ours_rate, plain_rate = count / ours["seconds"], count / plain["seconds"]
    ratio = ours_rate / plain_rate
    figures = [
        Figure(section, f"import_roster {label} rows into PostgreSQL", ours_rate, "rows/s",
               note=f"{ours['seconds']:.1f} s"),
        Figure(section, f"import_roster {label} peak RSS", ours["maxrss_mib"], "MiB", f"< {RSS_TARGET_MIB} MiB",
               ours["maxrss_mib"] < RSS_TARGET_MIB and ours["children_maxrss_mib"] < RSS_TARGET_MIB,
               note=f"parsing worker {ours['children_maxrss_mib']:.0f} MiB"),
        Figure(section, f"plain COPY {label} rows", plain_rate, "rows/s", note=f"{plain['seconds']:.1f} s"),
        Figure(section, f"ours/plain COPY {label}", ratio * 100, "%", f">= {RATIO_TARGET:.0%}", ratio >= RATIO_TARGET),
        Figure(section, f"same roster again {label} (adds nothing)", count / ours["again_seconds"], "rows/s",
               note=f"{ours['again_seconds']:.1f} s, informational"),
    ]
    return figures, url


def _prepare(cluster: Cluster, workdir: Path, count: int) -> dict[str, tuple[Path, str]]:
    """Per backend: a home (its keys in it) with ``count`` pending annotations, and its database."""
    from certcli.home import keys_dir

    roster = write_roster(workdir / "roster-pg-process.csv", count, holder=424_242)
    prepared = {}
    for backend in ("sqlite", "postgres"):
        url = cluster.database() if backend == "postgres" else ""
        home = workdir / f"home-process-{backend}"
        log(f"postgres: preparing {count:,} pending annotations on {backend} (not measured)")
        ready = run_child("bench.postgres_bench:setup_child", home=str(home), url=url, keys_dir=str(keys_dir(home)),
                          roster=str(roster), count=count)
        if ready["pending"] != count:
            raise RuntimeError(f"{backend}: {ready['pending']} pending, expected {count}")
        prepared[backend] = (home, url)
    return prepared


def _fresh_copy(cluster: Cluster, workdir: Path, backend: str, home: Path, url: str, runs: int) -> tuple[Path, str]:
    """The prepared home copied (PostgreSQL: its database too, as a template), for one measurement."""
    copy = workdir / f"home-process-{backend}-{runs}"
    shutil.copytree(home, copy)
    return copy, cluster.database(template=database_name(url)) if url else ""


def _concurrent(home: Path, url: str, runs: int) -> tuple[float, float, int]:
    """``runs`` ``certcli admin process --workers 1`` at once; (wall seconds, CPU seconds of the
    runs, documents)."""
    import json
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)

    env = base_env(None, CERTCLI_HOME=str(home), CERTCLI_NOW=NOW_ISO, CERTCLI_KEY_PASSPHRASE=PASSPHRASE,
                   CERTCLI_DATABASE_URL=url)
    argv = [sys.executable, "-m", "certcli", "--json", "admin", "process", "--workers", "1"]
    start = time.perf_counter()
    processes = [subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(runs)]
    outputs = [p.communicate() for p in processes]
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    done = 0
    for process, (out, err) in zip(processes, outputs):
        if process.returncode != 0:
            raise RuntimeError(f"admin process exited {process.returncode}: {err[-400:]}")
        done += json.loads(out)["completed"]
    return seconds, cpu, done


def bench_process(cluster: Cluster, workdir: Path, count: int) -> list[Figure]:
    section = "9 postgres process"
    prepared = _prepare(cluster, workdir, count)
    rates: dict[tuple[str, int], float] = {}
    notes = {}
    for runs in RUNS:
        for backend in ("sqlite", "postgres"):
            home, url = _fresh_copy(cluster, workdir, backend, *prepared[backend], runs)
            log(f"postgres: {runs} concurrent admin process run(s) over {count:,} on {backend}")
            seconds, cpu, done = _concurrent(home, url, runs)
            if done != count:
                raise RuntimeError(f"{backend}, {runs} runs: completed {done} of {count}")
            rates[backend, runs] = count / seconds
            notes[backend, runs] = f"{seconds:.1f} s wall, {cpu:.1f} s CPU = {cpu / seconds:.2f} cores busy"
    figures = []
    for runs in RUNS:
        for backend in ("postgres", "sqlite"):
            figures.append(Figure(section, f"{count:,} docs, {runs} concurrent run(s), {backend}",
                                  rates[backend, runs], "docs/s", note=notes[backend, runs]))
    figures.append(Figure(section, "postgres / sqlite with 4 runs", rates["postgres", 4] / rates["sqlite", 4], "x",
                          note="informational: on one machine the cores, not the database, bound both"))
    return figures


def bench_query(url: str, workdir: Path, count: int, runs: int, cli_runs: int, pycache: Path) -> list[Figure]:
    """The SQLite query bench (bench/query_bench.py), pointed at the PostgreSQL store."""
    from bench import query_bench

    home = workdir / "home-pg-import"
    home.mkdir(parents=True, exist_ok=True)             # the holder's login session goes here
    os.environ["CERTCLI_DATABASE_URL"] = url          # the children open_store() with it
    try:
        figures = query_bench.run(home, count, runs, cli_runs, pycache)
    finally:
        os.environ.pop("CERTCLI_DATABASE_URL", None)
    for figure in figures:
        figure.section = "9 postgres query"
        figure.name += ", PostgreSQL"
    return figures


def bench_export(url: str, workdir: Path, count: int) -> list[Figure]:
    """``admin export`` of the big store: rows stream from a server-side cursor, so the peak RSS
    must not grow with the row count (pgstore.Stream)."""
    label, home = _label(count), workdir / "home-pg-import"
    home.mkdir(parents=True, exist_ok=True)
    log(f"postgres: certcli admin export of {count:,} certificates (fresh process)")
    done = run_child("bench.postgres_bench:export_child", home=str(home), url=url,
                     output=str(workdir / "export-pg.csv"))
    if done["rows"] != count:
        raise RuntimeError(f"export wrote {done['rows']} rows, expected {count}")
    return [Figure("9 postgres query", f"admin export {label} peak RSS, PostgreSQL", done["children_maxrss_mib"],
                   "MiB", f"< {RSS_TARGET_MIB} MiB", done["children_maxrss_mib"] < RSS_TARGET_MIB,
                   note=f"{count / done['seconds']:,.0f} rows/s, start-up included")]


def run(workdir: Path, import_rows: int, documents: int, lib_runs: int, cli_runs: int, pycache: Path) -> list[Figure]:
    from bench.pgcluster import bindir

    if bindir() is None:
        log("postgres: PostgreSQL (initdb, pg_ctl) is not installed: section skipped")
        return [Figure("9 postgres", "PostgreSQL not installed", None, "", note="skipped")]
    log("postgres: starting a throwaway PostgreSQL server")
    cluster = Cluster().start()
    try:
        figures, big = bench_import(cluster, workdir, import_rows)
        figures += bench_query(big, workdir, import_rows, lib_runs, cli_runs, pycache)
        figures += bench_export(big, workdir, import_rows)
        figures += bench_process(cluster, workdir, documents)
        return figures
    finally:
        cluster.stop()
