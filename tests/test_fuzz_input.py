"""Hostile input (issue 7): random roster bytes, encodings, huge fields, formula cells, NUL bytes,
mixed line endings, odd CLI arguments, damaged stores. Never a traceback (nor exit 70, an
internal error); good rows kept. Each property runs a few hundred cases in the default run
([short]) and 20 times as many in its ``slow`` [long] variant (``python -m pytest -m slow``)."""
import csv
import io
import sqlite3
import zipfile
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certcli import rules
from certcli.certificates import issuance
from certcli.errors import CertcliError
from certcli.certificates.export import neutralise_cell
from certcli.documents.glyphs import check_text_renderable
from certcli.store import open_store
from conftest import EXIT_INTERNAL, cert_row

NOW = datetime(2026, 3, 1, 10, tzinfo=rules.CST)
HEADER = ",".join(cert_row().keys())
GOOD = ",".join(cert_row(no="GOOD0001").values())


def fuzz(examples):
    return settings(max_examples=examples, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def sizes(examples: int):
    """``examples`` cases in the default run, 20 times as many in the slow run."""
    return pytest.mark.parametrize("examples", [pytest.param(examples, id="short"),
                                                pytest.param(examples * 20, id="long", marks=pytest.mark.slow)])


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return open_store(tmp_path_factory.mktemp("fuzz") / "home", create=True)


def import_bytes(store, tmp_path, data: bytes, suffix=".csv"):
    path = tmp_path / f"roster{suffix}"
    path.write_bytes(data)
    try:
        return issuance.import_roster(store, path, now=NOW, dry_run=True, check_text=check_text_renderable)
    except CertcliError as error:  # whole-file problems are typed errors, never tracebacks
        assert error.code == "bad_roster"
        return None


@sizes(150)
def test_random_bytes_after_a_good_row_keep_the_good_row(store, tmp_path, examples):
    @fuzz(examples)
    @given(junk=st.binary(max_size=2000))
    def run(junk):
        data = (HEADER + "\r\n" + GOOD + "\n").encode() + junk
        report = import_bytes(store, tmp_path, data)
        assert report is not None
        assert report.inserted >= 1 or report.already_present >= 1 or \
            any(r.certificate_no == "GOOD0001" for r in report.rejects)

    run()


@sizes(150)
def test_random_cells_in_any_encoding_never_crash(store, tmp_path, examples):
    @fuzz(examples)
    @given(rows=st.lists(st.lists(st.text(max_size=40), min_size=1, max_size=12), max_size=20),
           ending=st.sampled_from(["\n", "\r\n", "\r"]),
           encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]))
    def run(rows, ending, encoding):
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator=ending)
        writer.writerow(cert_row().keys())
        writer.writerows(rows)
        writer.writerow(cert_row(no="GOOD0002").values())
        data = buffer.getvalue().encode(encoding, errors="replace")
        report = import_bytes(store, tmp_path, data)
        if report is not None and ending != "\r":
            assert report.inserted + report.already_present >= 1 or report.rejected >= 1

    run()


@sizes(100)
def test_json_lines_junk_never_crashes(store, tmp_path, examples):
    import json

    good = json.dumps(cert_row(no="GOOD0003"), ensure_ascii=False).encode()

    @fuzz(examples)
    @given(lines=st.lists(st.one_of(st.binary(max_size=200), st.just(b'{"certificate_no": null}'),
                                    st.just(b"[1,2,3]"), st.just(b'{"name": {"nested": 1}}')), max_size=15))
    def run(lines):
        report = import_bytes(store, tmp_path, good + b"\n" + b"\n".join(lines), suffix=".jsonl")
        assert report is not None and report.inserted + report.already_present >= 1

    run()


def _good_workbook(compression: int) -> bytes:
    """A small valid roster workbook, its parts stored or deflated: flipped bytes then land in
    the XML itself (cell positions, counts, numbers) or in the compressed stream."""
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(list(cert_row().keys()))
    book.active.append(list(cert_row(no="GOOD0005").values()))
    saved, repacked = io.BytesIO(), io.BytesIO()
    book.save(saved)
    with zipfile.ZipFile(saved) as source, zipfile.ZipFile(repacked, "w", compression) as target:
        for name in source.namelist():
            target.writestr(name, source.read(name))
    return repacked.getvalue()


@sizes(60)
def test_damaged_workbooks_never_crash(store, tmp_path, examples):
    """Bytes changed, inserted or cut in a workbook (read by calamine, or streamed by openpyxl):
    a report or bad_roster, never a traceback, nor a crash (a Rust panic, an aborted allocation)."""
    goods = [_good_workbook(zipfile.ZIP_STORED), _good_workbook(zipfile.ZIP_DEFLATED)]

    @fuzz(examples)
    @given(which=st.integers(0, 1), at=st.integers(0, 2**20), junk=st.binary(max_size=64), insert=st.booleans())
    def run(which, at, junk, insert):
        good = goods[which]
        at %= len(good)
        import_bytes(store, tmp_path, good[:at] + junk + good[at + (0 if insert else max(len(junk), 1)):],
                     suffix=".xlsx")

    run()


@pytest.mark.parametrize("cell,reason", [
    ("王" * 5000, "field_too_long"), ("王\x00明", "bad_characters"), ("王\x1b[31m", "bad_characters"),
])
def test_huge_and_control_fields_rejected_with_reason(store, tmp_path, cell, reason):
    row = dict(cert_row(no="BAD00001"), name=cell)
    buffer = io.StringIO()
    csv.writer(buffer).writerows([row.keys(), row.values(), cert_row(no="GOOD0004").values()])
    report = import_bytes(store, tmp_path, buffer.getvalue().encode("utf-8", errors="surrogatepass"))
    assert [r.reason for r in report.rejects] == [reason] and report.inserted + report.already_present == 1


@sizes(200)
def test_formula_cells_are_neutralised(examples):
    @fuzz(examples)
    @given(st.text(max_size=30))
    def run(value):
        out = neutralise_cell(value)
        dangerous = value[:1] in ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
        assert out == ("'" + value if dangerous else value)

    run()


@sizes(60)
def test_odd_cli_arguments_never_traceback(issued, examples):
    import json

    @fuzz(examples)
    @given(args=st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                                 max_size=30), min_size=1, max_size=4),
           command=st.sampled_from(["info", "annotate", "download", "verify", "login", "register", "renew"]))
    def run(args, command):
        result = issued(command, *args)
        assert "Traceback" not in result.out + result.err
        assert result.code != EXIT_INTERNAL, result.out + result.err
        assert result.code in (0, 1, 2, 3, 4, 5, 6, 7)
        if result.out.strip():
            json.loads(result.out)

    run()


def test_default_download_name_cannot_climb_out(issued, tmp_path, monkeypatch):
    db = sqlite3.connect(issued.home / "certcli.db")
    db.execute("UPDATE certificates SET certificate_no = 'a/../../evil' WHERE certificate_no = '2022ECO110100001'")
    db.commit()
    issued("annotate", "a/../../evil")
    issued("admin", "process")
    work = tmp_path / "work" / "deeper"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    result = issued("download", "a/../../evil")
    assert result.code == 0, result.out
    assert (work / "a_______evil.pdf").exists() and not (tmp_path / "evil.pdf").exists()


@sizes(40)
def test_damaged_store_files_give_store_corrupt_or_work(issued, examples):
    db_path = issued.home / "certcli.db"

    @fuzz(examples)
    @given(offset=st.integers(min_value=0, max_value=20000), junk=st.binary(min_size=1, max_size=64))
    def run(offset, junk):
        checkpoint = sqlite3.connect(db_path)
        checkpoint.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        checkpoint.close()
        original = db_path.read_bytes()
        try:
            damaged = bytearray(original)
            position = offset % len(damaged)
            damaged[position:position + len(junk)] = junk
            db_path.write_bytes(bytes(damaged))
            for command in (("admin", "stats"), ("list",)):
                result = issued(*command)
                assert "Traceback" not in result.out + result.err
                assert result.code != EXIT_INTERNAL, result.out + result.err
                assert result.code in (0, 3, 7), result.out
        finally:
            db_path.write_bytes(original)
            for suffix in ("-wal", "-shm"):
                (issued.home / f"certcli.db{suffix}").unlink(missing_ok=True)

    run()
