"""Golden QR vectors (issue 11, item 5): payloads made once with a fixed TEST key and checked
in under tests/vectors/ (see make_vectors.py there) must keep decoding to exactly the recorded
fields.  QR codes already printed on paper carry these bytes, so a change to the CC1 wire
format (field order, lengths, time encoding, key ids, signature layout, base32 alphabet)
fails here.  This test only reads the checked-in files; it never regenerates them."""
from __future__ import annotations

import base64
import dataclasses
import json
from datetime import datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from certcli.documents import qrpayload
from certcli.errors import CertcliError
from certcli.pki.keys import key_id_of

VECTORS = Path(__file__).resolve().parent / "vectors"
DOCUMENT = json.loads((VECTORS / "qr_vectors.json").read_text(encoding="utf-8"))
KEY = serialization.load_pem_private_key((VECTORS / DOCUMENT["key_file"]).read_bytes(), password=None)
PUBLIC = serialization.load_pem_public_key(DOCUMENT["public_key_pem"].encode())
KEYMAP = {DOCUMENT["key_id"]: PUBLIC}
VALID = {v["name"]: v for v in DOCUMENT["valid"]}


def as_recorded(claims: qrpayload.QrClaims) -> dict:
    """Every field of the decoded claims, in the vector file's JSON shape."""
    out = dataclasses.asdict(claims)
    for name in ("valid_from", "valid_until"):
        value = out[name]
        assert value is None or (isinstance(value, datetime) and value.utcoffset() is not None)
        out[name] = None if value is None else value.isoformat()
    out["extra"] = [list(pair) for pair in claims.extra]
    return out


def body_of(payload: str) -> bytes:
    text = payload[len(qrpayload.PREFIX):]
    return base64.b32decode(text + "=" * (-len(text) % 8))[:-64]


def test_the_vector_key_is_the_test_key():
    assert KEY.public_key().public_numbers() == PUBLIC.public_numbers()
    assert key_id_of(PUBLIC) == DOCUMENT["key_id"]    # key ids printed in old QR codes still resolve


def test_the_vectors_cover_member_certificates_and_tampering():
    kinds = {v["claims"]["kind"] for v in DOCUMENT["valid"]}
    assert kinds == {"q", "m"}
    assert any(v["claims"]["extra"] for v in DOCUMENT["valid"])
    errors = {v["error"] for v in DOCUMENT["invalid"]}
    assert {"qr_signature_invalid", "unknown_signing_key", "not_a_certcli_qr"} <= errors


@pytest.mark.parametrize("name", list(VALID))
def test_golden_payload_decodes_to_the_recorded_fields(name):
    vector = VALID[name]
    claims = qrpayload.decode(vector["payload"], KEYMAP)
    assert as_recorded(claims) == vector["claims"]


@pytest.mark.parametrize("name", list(VALID))
def test_the_encoder_still_writes_the_recorded_body(name):
    """ECDSA signatures are randomised, so compare the signed body: today's encoder must
    produce byte for byte what the recorded payload carries."""
    vector = VALID[name]
    recorded = dict(vector["claims"])
    for field in ("valid_from", "valid_until"):
        recorded[field] = None if recorded[field] is None else datetime.fromisoformat(recorded[field])
    recorded["extra"] = tuple(tuple(pair) for pair in recorded["extra"])
    fresh = qrpayload.encode(qrpayload.QrClaims(**recorded), KEY)
    assert body_of(fresh) == body_of(vector["payload"])
    assert len(fresh) == len(vector["payload"]) and fresh[:len(qrpayload.PREFIX)] == qrpayload.PREFIX


@pytest.mark.parametrize("vector", DOCUMENT["invalid"], ids=[v["name"] for v in DOCUMENT["invalid"]])
def test_changed_payload_is_refused_with_the_recorded_reason(vector):
    source = VALID.get(vector["from"] or "")
    if source and "_char_" in vector["name"]:                # exactly one character differs
        changed = [i for i, (a, b) in enumerate(zip(source["payload"], vector["payload"])) if a != b]
        assert len(source["payload"]) == len(vector["payload"]) and len(changed) == 1
    with pytest.raises(CertcliError) as info:
        qrpayload.decode(vector["payload"], KEYMAP)
    assert info.value.code == vector["error"]
