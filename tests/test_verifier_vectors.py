"""The Python half of the one set of verifier test vectors (tests/vectors/verifier_vectors.json,
made by tests/vectors/make_verifier_vectors.py): ``verify --qr PAYLOAD --trust BUNDLE`` must
still give exactly the recorded outcome of each vector, refuse each edited bundle for the
recorded reason, and take the recorded payload out of each scanned text.  tests/test_browser.py
runs the same file through the verification page's JavaScript in headless Chromium."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

VECTORS = Path(__file__).resolve().parent / "vectors"
sys.path.insert(0, str(VECTORS))

from make_verifier_vectors import run_python  # noqa: E402

DOCUMENT = json.loads((VECTORS / "verifier_vectors.json").read_text(encoding="utf-8"))


def test_the_vectors_cover_every_check_and_reason_of_a_qr_verdict():
    reasons = {check["reason"] for vector in DOCUMENT["vectors"] for check in vector["expected"]["checks"]}
    assert {"qr_signature_invalid", "unknown_signing_key", "not_a_certcli_qr", "seal_rotated", "seal_compromised",
            "seal_expired", "seal_not_yet_valid", "seal_not_valid_at_signing", "seal_not_for_qualification",
            "registry_offline", "in_ledger", "not_in_ledger", "ledger_missing", "ledger_mismatch",
            "certificate_revoked", "not_revoked_as_of", "bundle_stale", "annotation_expired", "not_yet_valid",
            "window_too_long", "no_annotation", "signed_while_valid", "bundle_after_root_expired"} <= reasons
    assert {True, False} == {vector["expected"]["valid"] for vector in DOCUMENT["vectors"]}
    assert any(vector["expected"]["warnings"] for vector in DOCUMENT["vectors"])
    assert any(vector["expected"]["facts"].get("mobile") for vector in DOCUMENT["vectors"])


@pytest.mark.parametrize("vector", DOCUMENT["vectors"], ids=[v["name"] for v in DOCUMENT["vectors"]])
def test_python_gives_the_recorded_outcome(vector, tmp_path):
    assert run_python(vector, DOCUMENT["bundles"], tmp_path) == vector["expected"]


@pytest.mark.parametrize("case", DOCUMENT["bad_bundles"], ids=[b["name"] for b in DOCUMENT["bad_bundles"]])
def test_python_refuses_each_edited_bundle(case):
    from certcli.errors import BadTrustBundle
    from certcli.pki.trust_bundle import parse_trust_bundle

    with pytest.raises(BadTrustBundle) as refused:
        parse_trust_bundle(case["pem"])
    assert refused.value.data["reason"] == case["reason"]


def test_python_takes_the_payload_out_of_what_a_qr_code_carries():
    from certcli.documents.qrpayload import payload_of

    assert [payload_of(case["scanned"]) for case in DOCUMENT["scanned"]] == \
        [case["payload"] for case in DOCUMENT["scanned"]]
