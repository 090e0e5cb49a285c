"""certcli verify PATH... (issue 16, item 1): files and folders checked in parallel, one result
per file in input order, a summary, --json / --jsonl, exit 0 / 1 / 6, and nothing a folder
holds (junk, empty files, FIFOs, link loops, thousands of files) stops the batch.

Genuine documents come from tests/genuine_documents.py (make_genuine): keys made at the
real time, so these runs use the real clock (CERTCLI_NOW empty) unless a test moves it."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from conftest import EXIT_INTERNAL
from genuine_documents import make_genuine


@pytest.fixture(scope="module")
def genuine(tmp_path_factory):
    return make_genuine(tmp_path_factory.mktemp("batch"))


def _at(genuine) -> str:
    """A fixed clock one hour after signing, so single and batch runs check at the same instant."""
    signed = datetime.fromisoformat(genuine.verify(genuine.pdf).json["facts"]["signed_at"])
    return (signed + timedelta(hours=1)).isoformat()


def _folder(genuine, base: Path) -> Path:
    """in/: a genuine PDF, the exempt one two levels down (upper-case suffix), junk, an empty
    file, a text file (ignored: not *.pdf), a FIFO and a symbolic link loop (one result each)."""
    folder = base / "in"
    (folder / "sub" / "deeper").mkdir(parents=True)
    shutil.copy(genuine.pdf, folder / "a.pdf")
    shutil.copy(genuine.exempt, folder / "sub" / "deeper" / "B.PDF")
    (folder / "c.pdf").write_bytes(b"hello, I am not a PDF\n")
    (folder / "d.pdf").write_bytes(b"")
    (folder / "notes.txt").write_text("not a PDF, not looked at")
    os.mkfifo(folder / "sub" / "fifo.pdf")
    os.symlink("..", folder / "sub" / "up")                  # a folder link loop: not followed
    os.symlink("loop2.pdf", folder / "loop1.pdf")             # a file link loop: unreadable
    os.symlink("loop1.pdf", folder / "loop2.pdf")
    return folder


EXPECTED = [("in/a.pdf", "valid"), ("in/c.pdf", "not_valid"), ("in/d.pdf", "not_valid"),
            ("in/loop1.pdf", "unreadable"), ("in/loop2.pdf", "unreadable"),
            ("in/sub/deeper/B.PDF", "valid"), ("in/sub/fifo.pdf", "unreadable")]


@pytest.fixture
def inbox(genuine, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)          # results name paths as given: relative ones here
    return _folder(genuine, tmp_path)


def test_folder_recursion_order_json_shape_and_per_file_documents(genuine, inbox):
    now = _at(genuine)
    result = genuine.verify("in", genuine.pdf, "missing.pdf", now=now)
    assert result.code == 6, result.out                  # something unreadable: 6, over 1
    document = result.json
    assert set(document) == {"results", "summary"}
    shown = [(r["path"], r["status"]) for r in document["results"]]
    assert shown == EXPECTED + [(str(genuine.pdf), "valid"), ("missing.pdf", "unreadable")]
    assert document["summary"] == {"total": 9, "valid": 3, "not_valid": 2, "unreadable": 4, "errors": 0,
                                   "exit_code": 6}
    by_path = {r["path"]: r for r in document["results"]}
    # each checked file carries exactly the document `verify FILE --json` prints
    for path, single in (("in/a.pdf", genuine.pdf), ("in/sub/deeper/B.PDF", genuine.exempt), ("in/c.pdf", "in/c.pdf")):
        alone = genuine.verify(single, now=now).json
        entry = dict(by_path[path])
        assert (entry.pop("path"), entry.pop("status")) == (path, "valid" if alone["valid"] else "not_valid")
        assert entry == alone
    assert by_path["in/c.pdf"]["reason"] == "not_a_pdf" and by_path["in/d.pdf"]["reason"] == "not_a_pdf"
    fifo = by_path["in/sub/fifo.pdf"]
    assert fifo["valid"] is False and fifo["reason"] == "not_a_regular_file"
    assert fifo["error"]["code"] == "bad_input" and "checks" not in fifo
    assert by_path["missing.pdf"]["error"]["code"] == "bad_input"
    assert "Traceback" not in result.out + result.err


def test_exit_codes_0_1_6(genuine, tmp_path):
    good = tmp_path / "good"
    (good / "x").mkdir(parents=True)
    shutil.copy(genuine.pdf, good / "one.pdf")
    shutil.copy(genuine.exempt, good / "x" / "two.pdf")
    assert genuine.verify(good).code == 0
    assert genuine.verify(good, genuine.pdf, genuine.exempt).code == 0
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"%PDF-1.4\n" + bytes(range(256)))
    assert genuine.verify(good, junk).code == 1
    assert genuine.verify(good, junk, tmp_path / "gone.pdf").code == 6
    assert genuine.verify(genuine.pdf, tmp_path / "gone.pdf").code == 6
    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = genuine.verify(empty)                     # a folder without a PDF: nothing was checked
    assert nothing.code == 6 and nothing.json["error"]["data"]["reason"] == "no_pdf_files"
    revoked_now = (datetime.fromisoformat(genuine.verify(genuine.pdf).json["facts"]["valid_until"])
                   + timedelta(days=1)).isoformat()
    late = genuine.verify(good, now=revoked_now)        # the annotation ended, the exempt copy stays valid
    assert late.code == 1 and late.json["summary"]["valid"] == 1 and late.json["summary"]["not_valid"] == 1


def test_human_lines_in_input_order_then_a_summary_in_both_languages(genuine, inbox):
    en = genuine.verify("in", json_mode=False)
    assert en.code == 6
    lines = en.out.splitlines()
    assert [line.split("  ")[0] for line in lines[:7]] == [path for path, _ in EXPECTED]
    assert lines[0].startswith("in/a.pdf  VALID  2024CST450100004: annotation valid through ")
    assert lines[1] == "in/c.pdf  NOT VALID  not a PDF file"
    assert lines[5] == "in/sub/deeper/B.PDF  VALID  2019TAX310100003: no annotation needed"
    assert lines[6] == "in/sub/fifo.pdf  UNREADABLE  not a regular file (a pipe, device or directory)"
    assert lines[-1] == "7 files: 2 valid, 2 not valid, 3 unreadable"
    zh = genuine.verify("in", json_mode=False, lang="zh")
    assert zh.out.splitlines()[0].startswith("in/a.pdf  有效  2024CST450100004：加注有效期至 ")
    assert zh.out.splitlines()[1] == "in/c.pdf  无效  不是 PDF 文件"
    assert zh.out.splitlines()[-1] == "共 7 个文件：有效 2，无效 2，无法读取 3"
    assert "Traceback" not in en.out + en.err + zh.out + zh.err
    moved = genuine.verify("in", json_mode=False, now=_at(genuine))   # a moved clock is said once
    assert sum("clock overridden" in line for line in moved.out.splitlines()) == 1


def test_jsonl_one_result_per_line_then_the_summary(genuine, inbox):
    result = genuine.verify("in", "--jsonl", json_mode=False)
    assert result.code == 6
    lines = [json.loads(line) for line in result.out.splitlines()]
    assert lines[-1] == {"summary": {"total": 7, "valid": 2, "not_valid": 2, "unreadable": 3, "errors": 0,
                                     "exit_code": 6}}
    assert sorted((r["path"], r["status"]) for r in lines[:-1]) == sorted(EXPECTED)   # as they finish
    one = genuine.verify(genuine.pdf, "--jsonl", json_mode=False)      # --jsonl: the batch's lines for one file
    assert one.code == 0 and [set(json.loads(line)) >= {"path", "status"} or "summary" in json.loads(line)
                              for line in one.out.splitlines()] == [True, True]


def test_jsonl_streams_before_the_batch_ends(genuine, tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(200):
        os.link(genuine.pdf, folder / f"{i:03}.pdf")
    from serving import cli_env

    env = cli_env(genuine.cli.home, now="")
    process = subprocess.Popen([sys.executable, "-m", "certcli", "verify", str(folder), "--jsonl"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = json.loads(process.stdout.readline())
        still_running = process.poll() is None
        rest = process.stdout.read().splitlines()
    finally:
        process.wait(60)
    assert first["status"] == "valid" and still_running
    assert json.loads(rest[-1])["summary"]["valid"] == 200 and process.returncode == 0


def test_one_file_keeps_the_single_file_output(genuine, tmp_path):
    single = genuine.verify(genuine.pdf)
    assert single.code == 0 and "results" not in single.json and "path" not in single.json
    human = genuine.verify(genuine.pdf, json_mode=False)
    assert human.out.splitlines()[0].startswith("VALID: a genuine certificate signed by the issuer")
    assert genuine.verify(tmp_path / "nope.pdf").error_code == "bad_input"     # one missing file: as before
    folder = tmp_path / "just-one"
    folder.mkdir()
    shutil.copy(genuine.pdf, folder / "only.pdf")
    assert genuine.verify(folder).json["summary"]["total"] == 1                # a folder is a batch


def test_thousands_of_files_never_stop_the_batch(genuine, tmp_path):
    """2,000 files: junk, empty, truncated, a few genuine copies, under sub-folders."""
    folder = tmp_path / "big"
    data = genuine.pdf.read_bytes()
    for i in range(2000):
        sub = folder / f"d{i % 20:02}"
        sub.mkdir(parents=True, exist_ok=True)
        path = sub / f"f{i:04}.pdf"
        if i % 200 == 0:
            os.link(genuine.pdf, path)
        elif i % 3 == 0:
            path.write_bytes(data[: 100 + i])           # truncated
        elif i % 3 == 1:
            path.write_bytes(b"")
        else:
            path.write_bytes(os.urandom(64))
    os.mkfifo(folder / "d00" / "pipe.pdf")
    start = time.monotonic()
    result = genuine.verify(folder)
    took = time.monotonic() - start
    assert result.code == 6, result.out[-500:]
    summary = result.json["summary"]
    assert summary == {"total": 2001, "valid": 10, "not_valid": 1990, "unreadable": 1, "errors": 0,
                       "exit_code": 6}
    paths = [r["path"] for r in result.json["results"]]
    assert paths == sorted(paths) and len(set(paths)) == 2001
    assert took < 20, took


def test_no_trust_or_a_bad_bundle_ends_the_batch_with_one_error(genuine, tmp_path, inbox):
    empty_home = genuine.verify("in", genuine.pdf, home=tmp_path / "nobody")
    assert empty_home.code == 7 and empty_home.error_code == "key_problem"
    bad = tmp_path / "bad.pem"
    bad.write_text("not a bundle")
    refused = genuine.verify("in", genuine.pdf, "--trust", bad)
    assert refused.code == 6 and refused.error_code == "bad_trust_bundle"
    offline = genuine.verify("in", "--trust", genuine.bundle, home=tmp_path / "nobody")
    assert offline.code == 6 and offline.json["summary"]["valid"] == 2


def test_a_worker_that_dies_costs_only_its_file(genuine, tmp_path, monkeypatch):
    from certcli.verification import batch

    folder = tmp_path / "w"
    folder.mkdir()
    for i in range(12):
        shutil.copy(genuine.pdf, folder / f"{i:02}.pdf")
    (folder / "05.pdf").rename(folder / "05-crash.pdf")
    real = batch._verify_one

    def dying(item):
        if item.path.endswith("crash.pdf"):
            os._exit(9)                                  # as an out-of-memory kill would
        return real(item)

    monkeypatch.setattr(batch, "_verify_one", dying)
    result = genuine.verify(folder, "--workers", "2")
    assert result.code == EXIT_INTERNAL
    statuses = {r["path"].rsplit("/", 1)[1]: r["status"] for r in result.json["results"]}
    assert statuses.pop("05-crash.pdf") == "error" and set(statuses.values()) == {"valid"} and len(statuses) == 11
    assert result.json["summary"]["errors"] == 1


def test_a_folder_that_cannot_be_listed_is_one_result(genuine, tmp_path, monkeypatch):
    folder = tmp_path / "locked"
    (folder / "closed").mkdir(parents=True)
    shutil.copy(genuine.pdf, folder / "ok.pdf")
    listing = os.scandir

    def scandir(path="."):          # as chmod 000 would (root reads any folder, so it is simulated)
        if os.fspath(path).endswith("closed"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return listing(path)

    monkeypatch.setattr(os, "scandir", scandir)
    result = genuine.verify(folder)
    assert result.code == 6
    assert [(r["path"], r["status"]) for r in result.json["results"]] == [
        (str(folder / "closed"), "unreadable"), (str(folder / "ok.pdf"), "valid")]
    assert result.json["results"][0]["reason"] == "permission_denied"      # a stable code, not the OS's text


@pytest.mark.parametrize("lang, words", [
    ("en", {"file_not_found": "no such file", "symlink_loop": "a loop of symbolic links",
            "permission_denied": "permission denied"}),
    ("zh", {"file_not_found": "找不到该文件", "symlink_loop": "符号链接形成循环", "permission_denied": "没有读取权限"})])
def test_an_unreadable_file_has_a_stable_reason_and_a_message_naming_it(genuine, inbox, monkeypatch, lang, words):
    """Missing, a link loop, no permission (simulated: root reads any file): a stable ``reason`` in
    JSON, and words in the chosen language that name the path, never the OS's English text."""
    opening = os.open

    def open_file(path, flags, *args, **kwargs):
        if os.fspath(path).endswith("locked.pdf"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return opening(path, flags, *args, **kwargs)

    shutil.copy(genuine.pdf, "in/locked.pdf")
    monkeypatch.setattr(os, "open", open_file)
    paths = {"missing.pdf": "file_not_found", "in/loop1.pdf": "symlink_loop", "in/locked.pdf": "permission_denied"}
    result = genuine.verify(*paths, lang=lang)
    assert result.code == 6
    for entry in result.json["results"]:
        reason = paths[entry["path"]]
        assert (entry["status"], entry["reason"], entry["error"]["data"]["reason"]) == ("unreadable", reason, reason)
        assert entry["path"] in entry["verdict"] and words[reason] in entry["verdict"], entry
        assert "No such file" not in entry["verdict"] and "Permission denied" not in entry["verdict"]
    human = genuine.verify(*paths, lang=lang, json_mode=False)
    lines = human.out.splitlines()
    for line, (path, reason) in zip(lines, paths.items()):
        assert line.startswith(path + "  ") and words[reason] in line, line
    assert "Traceback" not in human.out + human.err


def test_usage_errors():
    from conftest import Cli

    cli = Cli(Path("/nonexistent-home"))
    assert cli("verify", "--qr", "x", "--jsonl").code == 2
    assert cli("verify", "a.pdf", "--workers", "0").code == 2


def test_remote_batch_sends_each_file_and_loads_no_pdf_code(genuine, tmp_path, inbox):
    from serving import Server, certcli

    with Server(genuine.cli.home, now="") as server:
        result = certcli(tmp_path / "client", "verify", "in", genuine.pdf, server=server.url, now="",
                         python_flags=("-X", "importtime"))
    assert result.code == 6, result.out + result.err
    document = json.loads(result.out)
    assert [(r["path"], r["status"]) for r in document["results"]] == EXPECTED + [(str(genuine.pdf), "valid")]
    loaded = {line.split("|")[-1].strip() for line in result.err.splitlines() if line.startswith("import time:")}
    heavy = {m for m in loaded if m.split(".")[0] in ("pyhanko", "reportlab", "pypdf", "qrcode", "PIL", "sqlite3")
             or m.startswith(("certcli.documents", "certcli.verification.pdf", "certcli.certificates",
                              "certcli.store", "certcli.verification.readonly"))}
    assert "httpx" in loaded and not heavy, sorted(heavy)     # unreadable files among them: still no sqlite3


def test_remote_batch_with_no_server_ends_at_once_with_exit_8(genuine, tmp_path, inbox):
    from serving import certcli, free_port

    result = certcli(tmp_path / "client", "verify", "in", genuine.pdf, server=f"http://127.0.0.1:{free_port()}",
                     now="", timeout=60)
    assert result.code == 8 and json.loads(result.out)["error"]["code"] == "server_unreachable"
    assert len(result.out.strip().splitlines()) == 1 and "Traceback" not in result.err
