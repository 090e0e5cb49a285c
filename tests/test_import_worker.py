"""Large rosters are parsed by a worker process (certcli.roster.stream) while the
importer writes: the result must be exactly what parsing in-process gives, from a forked
worker and from a fresh interpreter (where there is no fork) alike."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime

import pytest

from certcli import rules
from certcli.certificates import issuance
from certcli.errors import BadRoster
from certcli.documents.glyphs import check_text_renderable
from certcli.roster import stream
from certcli.roster.stream import PARALLEL_MIN_BYTES, ParsedRoster
from certcli.store import open_store
from conftest import ROOT, cert_row, write_roster

NOW = datetime(2026, 3, 1, 10, 0, tzinfo=rules.CST)


def holder_id(i: int) -> str:
    first17 = f"110101{1960 + i % 40:04d}0101{i % 1000:03d}"
    return first17 + rules.resident_id_check_char(first17)


def mixed_rows(count: int) -> list[dict]:
    """Good rows with, at known places, bad ones, in-file repeats and conflicts."""
    rows = []
    for i in range(count):
        row = cert_row(no=f"W{i:07d}", id_number=holder_id(i))
        if i % 997 == 5:
            row["id_number"] = row["id_number"][:-1] + ("0" if row["id_number"][-1] != "0" else "1")
        elif i % 991 == 7:
            row["issued_on"] = "2022-02-30"
        elif i % 983 == 11:
            row["name"] = "王\ue000"
        elif i % 977 == 13:
            row["certificate_no"] = f"W{i - 1:07d}"  # the number of the row before, another holder
        elif i % 971 == 17:
            row = dict(rows[-1])                       # an exact repeat of the row before
        rows.append(row)
    return rows


def import_into(home, path, parallel, **kwargs):
    store = open_store(home, create=True)
    try:
        report = issuance.import_roster(store, path, now=NOW, check_text=check_text_renderable,
                                        parallel=parallel, batch_size=700, **kwargs)
    finally:
        store.close()
    return report


def outcome(report):
    return (report.rows, report.inserted, report.already_present, report.rejected,
            [(e.line, e.reason, e.field, e.certificate_no) for e in report.rejects], report.seals,
            report.encoding, report.format)


def snapshot(home):
    db = sqlite3.connect(home / "certcli.db")
    return db.execute("SELECT certificate_no, name, id_type, id_number, qualification, level, issued_on, issuer, "
                      "seal, seal_id, imported_at FROM certificates ORDER BY certificate_no").fetchall()


@pytest.fixture
def no_fork(monkeypatch):
    """The worker as on a platform without fork: a fresh ``python`` process."""
    monkeypatch.setattr(stream, "_can_fork", lambda: False)


@pytest.mark.parametrize("form", ["csv-gb18030", "jsonl", "fresh-interpreter"])
def test_worker_and_in_process_parsing_store_the_same(tmp_path, form, monkeypatch):
    if form == "fresh-interpreter":
        monkeypatch.setattr(stream, "_can_fork", lambda: False)
    rows = mixed_rows(5000)
    if form == "jsonl":
        path = tmp_path / "roster.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    else:
        path = write_roster(tmp_path / "roster.csv", rows, encoding="gb18030")
    # an earlier roster gave one of these numbers to someone else: a conflict in both runs
    earlier = write_roster(tmp_path / "earlier.csv", [cert_row(no="W0000100", name="李四",
                                                               id_number="11010519491231002X")])
    outcomes = {}
    for parallel in (False, True):
        home = tmp_path / f"home-{parallel}"
        import_into(home, earlier, parallel=False)
        report = import_into(home, path, parallel)
        outcomes[parallel] = (outcome(report), snapshot(home))
        assert report.rejected > 10 and report.already_present > 3
        assert "conflicting_certificate_no" in {e.reason for e in report.rejects}
        rerun = import_into(home, path, parallel)
        assert (rerun.inserted, rerun.already_present) == (0, report.inserted + report.already_present)
        assert snapshot(home) == outcomes[parallel][1]
    assert outcomes[True] == outcomes[False]


def test_dry_run_in_the_worker_stores_nothing(tmp_path):
    path = write_roster(tmp_path / "roster.csv", mixed_rows(1500))
    dry = import_into(tmp_path / "home", path, parallel=True, dry_run=True)
    real = import_into(tmp_path / "home", path, parallel=True)
    assert outcome(dry)[:5] == outcome(real)[:5]
    assert len(snapshot(tmp_path / "home")) == real.inserted


@pytest.mark.parametrize("content, reason", [(b"", "empty"), (b"foo,bar\n1,2\n", "missing_columns")])
def test_a_bad_roster_is_reported_the_same_from_the_worker(tmp_path, content, reason):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    errors = []
    for parallel in (False, True):
        with pytest.raises(BadRoster) as caught:
            import_into(tmp_path / f"home-{parallel}", path, parallel)
        errors.append((type(caught.value), caught.value.code, caught.value.data))
    assert errors[0] == errors[1] and errors[0][2]["reason"] == reason


def test_large_rosters_use_the_worker_small_ones_do_not(tmp_path):
    small = write_roster(tmp_path / "small.csv", mixed_rows(10))
    large = write_roster(tmp_path / "large.csv", mixed_rows(9000))
    assert large.stat().st_size >= PARALLEL_MIN_BYTES > small.stat().st_size
    today = rules.cst_day(NOW)
    assert not ParsedRoster(small, today=today, imported_at="x", check_text=check_text_renderable).parallel
    assert ParsedRoster(large, today=today, imported_at="x", check_text=check_text_renderable).parallel
    # a check the worker cannot import by name keeps parsing here, and is still applied
    local_check = lambda text, field: check_text_renderable(text, field)  # noqa: E731
    assert not ParsedRoster(large, today=today, imported_at="x", check_text=local_check, parallel=True).parallel
    store = open_store(tmp_path / "home", create=True)
    rejected = issuance.import_roster(store, large, now=NOW, check_text=local_check, parallel=True).rejects
    assert "unsupported_character" in {e.reason for e in rejected}


def test_large_roster_through_the_cli(cli, tmp_path):
    assert cli("admin", "init").code == 0
    rows = mixed_rows(9000)
    path = write_roster(tmp_path / "large.csv", rows)
    assert path.stat().st_size >= PARALLEL_MIN_BYTES
    result = cli("admin", "issue", path, "--rejects", tmp_path / "rejects.csv")
    assert result.code == 6, result.out
    expected = import_into(tmp_path / "reference", path, parallel=False)
    assert (result.json["rows"], result.json["inserted"], result.json["rejected"]) == \
        (expected.rows, expected.inserted, expected.rejected)
    lines = (tmp_path / "rejects.csv").read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) == 1 + expected.rejected


def test_a_worker_that_dies_is_an_error_not_a_short_import(tmp_path):
    path = write_roster(tmp_path / "roster.csv", mixed_rows(20000))
    with ParsedRoster(path, today=rules.cst_day(NOW), imported_at="x", parallel=True) as roster:
        chunks = roster.chunks()
        next(chunks)
        roster._worker.kill()
        with pytest.raises(RuntimeError, match="ended unexpectedly"):
            for _ in chunks:
                pass


def test_junk_bytes_give_the_same_rejects_from_the_worker(tmp_path):
    import random

    rng = random.Random(3)
    header = ",".join(cert_row().keys()).encode() + b"\r\n"
    good = [",".join(cert_row(no=f"J{i:07d}", id_number=holder_id(i)).values()).encode() for i in range(3000)]
    lines = []
    for line in good:
        roll = rng.random()
        if roll < 0.2:
            line = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 120)))
        elif roll < 0.3:
            cut = rng.randrange(len(line))
            line = line[:cut] + b'"\x00\xff,' + line[cut:]
        lines.append(line)
    path = tmp_path / "junk.csv"
    path.write_bytes(header + b"\r\n".join(lines) + b"\r\n")
    outcomes = []
    for parallel in (False, True):
        home = tmp_path / f"home-{parallel}"
        outcomes.append((outcome(import_into(home, path, parallel)), snapshot(home)))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0][3] > 300  # plenty rejected, and the good rows kept


def test_the_worker_runs_this_certcli_not_one_in_the_current_directory(tmp_path, monkeypatch, no_fork):
    decoy = tmp_path / "elsewhere" / "certcli"
    decoy.mkdir(parents=True)
    (decoy / "__init__.py").write_text("raise ImportError('a different certcli')\n")
    path = write_roster(tmp_path / "roster.csv", mixed_rows(1200))
    monkeypatch.chdir(decoy.parent)
    assert outcome(import_into(tmp_path / "home", path, parallel=True)) == \
        outcome(import_into(tmp_path / "reference", path, parallel=False))


def test_no_process_to_be_had_means_parsing_here(tmp_path, monkeypatch):
    import subprocess

    def refuse(*args, **kwargs):
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    monkeypatch.setattr(os, "fork", refuse)
    path = write_roster(tmp_path / "roster.csv", mixed_rows(1200))
    report = import_into(tmp_path / "home", path, parallel=True)
    assert report.inserted > 1000


def test_a_forked_worker_ends_with_its_killed_importer(tmp_path):
    """A forked worker has its importer's command line, so tests/test_crash.py cannot find
    it by its own: here it is found by its pid, and must be gone once the importer is."""
    path = write_roster(tmp_path / "roster.csv", mixed_rows(20000))
    script = ("import sys, time\n"
              "from certcli.roster.stream import ParsedRoster, _Forked\n"
              "from datetime import date\n"
              f"with ParsedRoster({str(path)!r}, today=date(2026, 3, 1), imported_at='x', parallel=True) as r:\n"
              "    assert isinstance(r._worker, _Forked)\n"
              "    print(r._worker.pid, flush=True)\n"
              "    time.sleep(60)\n")  # reads nothing more: the worker fills the pipe and waits
    importer = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    worker = int(importer.stdout.readline())
    os.kill(importer.pid, signal.SIGKILL)
    importer.wait()
    deadline = time.monotonic() + 10
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(worker), "the forked worker outlived its killed importer"


def _alive(pid: int) -> bool:
    """Running, not a zombie (the killed importer's orphans are reaped by init)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return False
