"""`admin retire-seal KEY --compromised-at T` re-queues EVERY document KEY signed
from T on, whatever its signature bytes (issue 11: a CMS DER ending in 0x00, about
1 signature in 256, used to be missed)."""
from __future__ import annotations

import pytest

from datetime import datetime, timedelta

from conftest import HOLDER_ID, NOW, cert_row, store_rows, write_roster

from certcli.certificates.requeue import signer_key_id
from certcli.documents.cms import cms_der
from certcli.pki.keys import IssuerKeys
from certcli.verification.pdf import locate_signature

ANNOTATED = 300      # a few hundred: ~3 of them are expected to end in 0x00
EXEMPT = 4           # association seal, issued before 2021-12-17: another key, never re-queued


def _at(delta: timedelta) -> str:
    return (datetime.fromisoformat(NOW) + delta).isoformat()


@pytest.mark.slow  # 300 signed documents (~30 s); tests/test_signer_key_id.py covers the 0x00 case by default
def test_retiring_a_key_requeues_every_document_it_signed_after_the_compromise(cli, tmp_path):
    assert cli("admin", "init").code == 0
    rows = [cert_row(no=f"2022ECO1101{i:05d}") for i in range(1, ANNOTATED + 1)]
    rows += [cert_row(no=f"2019TAX3101{i:05d}", seal="association", issuer="中国注册税务师协会",
                      qualification="税务师", level="", issued_on="2019-06-20") for i in range(1, EXEMPT + 1)]
    assert cli("admin", "issue", write_roster(tmp_path / "roster.csv", rows)).code == 0
    assert cli("register", "--name", "王小明", "--id-number", HOLDER_ID).code == 0
    assert cli("login", "--id-number", HOLDER_ID).code == 0
    assert cli("agree", "--yes").code == 0
    for row in rows[:ANNOTATED]:
        assert cli("annotate", row["certificate_no"], "--days", "30").code == 0
    for row in rows[ANNOTATED:]:
        assert cli("download", row["certificate_no"], "-o", tmp_path / "x.pdf").error_code == "annotation_pending"

    processed = cli("admin", "process", "--workers", "2", now=_at(timedelta(hours=1)))
    assert processed.code == 0, processed.out
    assert processed.json["completed"] == ANNOTATED + EXEMPT and processed.json["failed"] == 0

    key_id = IssuerKeys(cli.home / "keys").active_seal("ministry").key_id
    documents = [(row["annotation_no"], row["pdf"]) for row in
                 store_rows(cli.home, "SELECT a.annotation_no, d.pdf FROM annotations a "
                                      "JOIN documents d ON d.sha256 = a.document_sha256 "
                                      "WHERE a.status = 'completed'")]
    assert len(documents) == ANNOTATED + EXEMPT
    signed_by_key = {number for number, pdf in documents if signer_key_id(pdf) == key_id}
    assert len(signed_by_key) == ANNOTATED                 # every ministry document names the key
    zero_ended = sum(cms_der(locate_signature(pdf).contents)[-1] == 0 for _, pdf in documents)

    retired = cli("admin", "retire-seal", key_id, "--compromised-at", _at(timedelta(minutes=30)),
                  now=_at(timedelta(hours=2)))
    assert retired.code == 0, retired.out
    requeued = retired.json["requeued"]
    assert set(requeued["annotations"]) == signed_by_key, f"{zero_ended} DER(s) ended in 0x00"
    assert len(requeued["annotations"]) == processed.json["completed"] - EXEMPT
    assert requeued["member_documents"] == []

    again = cli("admin", "process", "--workers", "2", now=_at(timedelta(hours=3)))
    assert again.json["completed"] == ANNOTATED and again.json["failed"] == 0
    new_key = retired.json["rotated_to"]
    pdfs = [row["pdf"] for row in store_rows(cli.home, "SELECT d.pdf FROM annotations a JOIN documents d "
                                                       "ON d.sha256 = a.document_sha256 WHERE a.status = 'completed' "
                                                       "AND a.kind = 'annotation'")]
    assert len(pdfs) == ANNOTATED and {signer_key_id(pdf) for pdf in pdfs} == {new_key}
