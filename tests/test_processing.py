"""One document pipeline (certcli.certificates.processing) for annotation documents
and member certificates: one result writer records both kinds the same way —
the `process` / `process_failed` audit entries, the failure with the error's
code AND message, one cap on the failures reported."""
from __future__ import annotations

import json

import pytest

from conftest import HOLDER_ID, cert_row, store_db, write_roster
from membership_helpers import download, members, ready_member  # noqa: F401 - fixtures

from certcli.certificates import processing

CERT = "2022ECO110100001"
MEMBER_CERT = "2021CPA110000001"


def audit_entries(cli, action: str) -> list[dict]:
    entries = map(json.loads, cli("admin", "audit", "export", json_mode=False).out.splitlines())
    return [e for e in entries if e["action"] == action]


def _details(entry: dict) -> dict:
    details = entry.get("details", {})
    return json.loads(details) if isinstance(details, str) else details


def _exploding(certificates: set[str]):
    real = processing.make_document

    def make_document(page, seal, signer, now):
        if page.certificate_no in certificates:
            raise RuntimeError(f"renderer ran out of ink on {page.certificate_no}")
        return real(page, seal, signer, now)

    return make_document


def test_both_kinds_fail_and_complete_through_one_writer(members, tmp_path, monkeypatch):  # noqa: F811
    env = ready_member(members, tmp_path)
    assert members("member", "download", "-o", tmp_path / "m.pdf", env=env).error_code == "document_pending"
    # an annotation request beside it, in the same home
    roster = write_roster(tmp_path / "r.csv", [cert_row()])
    assert members("admin", "issue", roster).code == 0
    assert members("register", "--name", "王小明", "--id-number", HOLDER_ID).code == 0
    assert members("login", "--id-number", HOLDER_ID).code == 0
    assert members("agree", "--yes").code == 0
    assert members("annotate", CERT).code == 0

    monkeypatch.setattr(processing, "make_document", _exploding({CERT, MEMBER_CERT}))
    report = members("admin", "process").json
    assert (report["pending"], report["completed"], report["failed"]) == (2, 0, 2)
    by_kind = {("annotation" if "annotation_id" in f else "member_document"): f for f in report["failures"]}
    assert set(by_kind) == {"annotation", "member_document"}
    for kind, certificate_no in (("annotation", CERT), ("member_document", MEMBER_CERT)):
        failure = by_kind[kind]
        assert failure["reason"] == "RuntimeError"
        assert failure["message"] == f"RuntimeError: renderer ran out of ink on {certificate_no}"
    failed = audit_entries(members, "process_failed")
    assert sorted(_details(e)["kind"] for e in failed) == ["annotation", "member_document"]
    for entry in failed:
        assert _details(entry)["reason"] == "RuntimeError"
        assert "ran out of ink" in _details(entry)["message"]
    with store_db(members.home) as db:
        reasons = [r for (r,) in db.execute("SELECT failure_reason FROM annotations UNION ALL "
                                            "SELECT failure_reason FROM member_documents")]
    assert sorted(reasons) == sorted(f"RuntimeError: renderer ran out of ink on {n}" for n in (CERT, MEMBER_CERT))

    monkeypatch.undo()
    assert members("renew", CERT, "--days", "30").code == 0
    assert members("login", "--cert-number", MEMBER_CERT, env=env).code == 0
    got = download(members, env, tmp_path / "m2.pdf")
    assert got["document_no"]
    done = audit_entries(members, "process")
    assert sorted(_details(e)["kind"] for e in done) == ["annotation", "member_document"]
    assert all(len(_details(e)["document_sha256"]) == 64 for e in done)
    assert audit_entries(members, "process_member_document") == []      # one vocabulary for both kinds


@pytest.mark.parametrize("count", [processing.MAX_REPORTED_FAILURES + 3])
def test_failures_reported_are_capped_once(cli, tmp_path, monkeypatch, count):
    assert cli("admin", "init").code == 0
    rows = [cert_row(no=f"2022ECO1101{i:05d}") for i in range(1, count + 1)]
    assert cli("admin", "issue", write_roster(tmp_path / "r.csv", rows)).code == 0
    assert cli("register", "--name", "王小明", "--id-number", HOLDER_ID).code == 0
    assert cli("login", "--id-number", HOLDER_ID).code == 0
    assert cli("agree", "--yes").code == 0
    for row in rows:
        assert cli("annotate", row["certificate_no"]).code == 0
    monkeypatch.setattr(processing, "make_document", _exploding({row["certificate_no"] for row in rows}))
    report = cli("admin", "process", "--workers", "1").json
    assert report["failed"] == count and report["completed"] == 0
    assert len(report["failures"]) == processing.MAX_REPORTED_FAILURES
    assert len(audit_entries(cli, "process_failed")) == count       # the log has every one


def test_failure_of_keeps_code_and_message():
    from certcli.errors import CertcliError

    class Boom(CertcliError):
        code = "boom"

    assert processing.failure_of(KeyError("ministry")) == ("KeyError", "KeyError: 'ministry'")
    assert processing.failure_of(ValueError()) == ("ValueError", "ValueError")
    code, message = processing.failure_of(Boom())
    assert code == "boom" and message.startswith("boom")
    assert len(processing.failure_of(RuntimeError("x" * 5000))[1]) == processing.MAX_FAILURE_MESSAGE
