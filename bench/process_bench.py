"""5. ``admin process`` of N pending annotations, --workers 1 vs --workers 2.

One holder owns N ministry-sealed certificates (distinct numbers) and applies
for an annotation on each through the library (``apply_annotation``).  The
prepared home is copied, so both runs start from identical stores.
"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from bench.common import NOW, PASSPHRASE, PASSWORD, Figure, log, run_child
from bench.rosters import person, write_roster

SPEEDUP_TARGET = 1.8
HOLDER = 424_242


def setup_child(home: str, keys_dir: str, roster: str, count: int) -> dict:
    """Child: store with ``count`` pending annotations, and the issuer keys."""
    from certcli import accounts
    from certcli.certificates import holder
    from certcli.certificates.issuance import import_roster
    from certcli.pki.keys import IssuerKeys
    from certcli.store import open_store

    start = time.perf_counter()
    store = open_store(Path(home), create=True)
    report = import_roster(store, Path(roster), now=NOW)
    name, id_number = person(HOLDER)
    account = accounts.register(store, id_type="resident_id", id_number=id_number, name=name,
                                password=PASSWORD, now=NOW)
    accounts.accept_terms(store, account, NOW)
    numbers = [r[0] for r in store.conn.execute("SELECT certificate_no FROM certificates ORDER BY id")]
    for number in numbers:
        holder.apply_annotation(store, account, number, scenario="self-use", days=90, now=NOW)
    pending = store.conn.execute("SELECT count(*) FROM annotations WHERE status = 'pending'").fetchone()[0]
    store.close()
    IssuerKeys(Path(keys_dir)).init(PASSPHRASE.encode(), NOW)
    return {"inserted": report.inserted, "pending": pending, "seconds": time.perf_counter() - start}


def _cpu() -> float:
    """CPU seconds of this process and its finished (worker) children."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def process_child(home: str, keys_dir: str, workers: int) -> dict:
    from certcli.certificates.processing import process_pending
    from certcli.store import open_store

    store = open_store(Path(home))
    cpu_before, start = _cpu(), time.perf_counter()
    report = process_pending(store, Path(keys_dir), PASSPHRASE.encode(), now=NOW, workers=workers)
    seconds, cpu = time.perf_counter() - start, _cpu() - cpu_before
    store.close()
    return {"seconds": seconds, "cpu": cpu, "completed": report.completed, "failed": report.failed,
            "workers": report.workers, "failures": (report.failures or [])[:3]}


def _prepare(workdir: Path, count: int) -> tuple[Path, Path]:
    base, keys = workdir / "home-process", workdir / "keys-process"
    roster = write_roster(workdir / "roster-process.csv", count, holder=HOLDER)
    log(f"process: preparing {count:,} pending annotations (not measured)")
    ready = run_child("bench.process_bench:setup_child", home=str(base), keys_dir=str(keys),
                      roster=str(roster), count=count)
    if ready["pending"] != count:
        raise RuntimeError(f"prepared {ready['pending']} pending annotations, expected {count}")
    log(f"process: prepared in {ready['seconds']:.1f}s")
    return base, keys


def run(workdir: Path, count: int) -> list[Figure]:
    base, keys = _prepare(workdir, count)
    rates = {}
    for workers in (1, 2):
        home = workdir / f"home-process-w{workers}"
        shutil.copytree(base, home)
        log(f"process: process_pending of {count:,}, workers={workers} (fresh process)")
        r = run_child("bench.process_bench:process_child", home=str(home), keys_dir=str(keys), workers=workers)
        if r["completed"] != count or r["workers"] != workers:
            raise RuntimeError(f"workers={workers}: completed {r['completed']}, failed {r['failed']}, "
                               f"ran with {r['workers']} workers; first failures {r['failures']}")
        rates[workers] = (count / r["seconds"], r["seconds"], r["cpu"])
    speedup = rates[2][0] / rates[1][0]
    section = "5 process"
    return [
        *(Figure(section, f"process_pending {count:,}, --workers {w}", rate, "docs/s",
                 note=f"{seconds:.1f} s wall, {cpu:.1f} s CPU = {cpu / seconds:.2f} cores busy")
          for w, (rate, seconds, cpu) in rates.items()),
        Figure(section, "speed-up workers 2 / 1", speedup, "x", f">= {SPEEDUP_TARGET:g}x",
               speedup >= SPEEDUP_TARGET),
    ]
