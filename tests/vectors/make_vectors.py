"""Make the golden QR vectors in this folder (run once; the tests only read the output).

    python tests/vectors/make_vectors.py            # writes qr_vectors.json (key kept if present)

``qr_test_key.pem`` is a P-256 key made for these vectors only.  It is a TEST key: it
signs nothing but the payloads below and must never be used as a seal.  The script
reuses it when it exists, so re-running only adds fresh signatures (ECDSA signatures are
randomised) for the same claims; a QR code printed on paper keeps its old signature, which
is why the checked-in payloads, not re-made ones, are what tests/test_qr_vectors.py reads.

Regenerate the vectors only for a deliberate, versioned change of the wire format (a new
prefix such as ``CC2:``): payloads already printed on paper must keep decoding, so a new
format adds vectors and keeps the old ones.

Valid vectors record the payload and every field the decoder must return (times as ISO
8601 in CST, as ``qrpayload.decode`` gives them).  Invalid vectors record a payload and the
error code ``decode`` must raise: one character changed in the signed body or in the
signature (``qr_signature_invalid``), in the key id (``unknown_signing_key``), a payload
signed by another key, a lower-cased payload and a truncated one.
"""
from __future__ import annotations

import base64
import dataclasses
import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402

from certcli.documents import qrpayload  # noqa: E402
from certcli.errors import CertcliError  # noqa: E402
from certcli.pki.keys import key_id_of  # noqa: E402

KEY_FILE = HERE / "qr_test_key.pem"
OUT_FILE = HERE / "qr_vectors.json"
CST = timezone(timedelta(hours=8))
BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def test_key() -> ec.EllipticCurvePrivateKey:
    if not KEY_FILE.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        KEY_FILE.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    return serialization.load_pem_private_key(KEY_FILE.read_bytes(), password=None)


def claims_list(key_id: str) -> list[tuple[str, str, qrpayload.QrClaims]]:
    def q(**fields) -> qrpayload.QrClaims:
        return qrpayload.QrClaims(key_id=key_id, **fields)

    return [
        ("annotation", "an annotated certificate: signed at valid_from, valid until the start of day D+N (CST)",
         q(certificate_no="2022ECO110100001", qualification_code="ECO", masked_name="王**",
           valid_from=datetime(2026, 3, 1, 10, 0, 7, tzinfo=CST), valid_until=datetime(2026, 3, 31, tzinfo=CST))),
        ("annotation_rare_name", "a name outside the BMP-common set and a long certificate number",
         q(certificate_no="2023AUD440300002", qualification_code="AUD", masked_name="李*",
           valid_from=datetime(2026, 2, 28, 23, 59, 59, tzinfo=CST), valid_until=datetime(2026, 5, 30, tzinfo=CST))),
        ("exempt", "a certificate without annotation window (no times)",
         q(certificate_no="2019TAX310100003", qualification_code="TAX", masked_name="欧***",
           valid_from=None, valid_until=None)),
        ("far_future", "a time near the end of the 4-byte range",
         q(certificate_no="X1", qualification_code="ECO", masked_name="J*********",
           valid_from=datetime(2026, 3, 1, 10, tzinfo=CST), valid_until=datetime(2100, 1, 1, tzinfo=CST))),
        ("member_default", "member certificate, the default disclosure (approval number, inspection, transfers)",
         q(certificate_no="M2021000123", qualification_code="CPA", masked_name="王**", valid_from=None,
           valid_until=None, kind="m",
           extra=(("approval_no", "中注协〔2021〕12号"), ("inspection", "2025"),
                  ("transfers", "2023-05-01 北京市→上海市; 2025-01-10 上海市→广东省深圳市")))),
        ("member_all", "member certificate, every detail disclosed (private ones included)",
         q(certificate_no="M2019000777", qualification_code="CPA", masked_name="欧***", valid_from=None,
           valid_until=None, kind="m",
           extra=(("approval_no", "京注协〔2019〕7号"), ("birth_date", "1990-03-07"), ("mobile", "13800138000"),
                  ("email", "member@example.com"), ("inspection", "2024"), ("transfers", "2020-02-02 ?→北京市")))),
        ("member_none", "member certificate, nothing disclosed",
         q(certificate_no="M2022000001", qualification_code="CPA", masked_name="李*", valid_from=None,
           valid_until=None, kind="m")),
    ]


def expected(claims: qrpayload.QrClaims) -> dict:
    out = dataclasses.asdict(claims)
    for name in ("valid_from", "valid_until"):
        out[name] = None if out[name] is None else out[name].isoformat()
    out["extra"] = [list(pair) for pair in claims.extra]
    return out


def error_code(payload: str, keymap: dict) -> str | None:
    try:
        qrpayload.decode(payload, keymap)
    except CertcliError as error:
        return error.code
    return None


def position_of(payload: str, text: str) -> int:
    """Index of a base32 character whose 5 bits all lie inside the UTF-8 bytes of ``text``
    in the payload's body."""
    blob = base64.b32decode(payload[len(qrpayload.PREFIX):] + "=" * (-len(payload[len(qrpayload.PREFIX):]) % 8))
    start = blob[:-64].index(text.encode("utf-8"))
    bit = start * 8 + 8                       # a bit inside the second byte of ``text``
    return len(qrpayload.PREFIX) + (bit + 4) // 5


def change(payload: str, position: int) -> str:
    old = payload[position]
    new = BASE32[(BASE32.index(old) + 1) % 32]
    return payload[:position] + new + payload[position + 1:]


def main() -> None:
    key = test_key()
    key_id = key_id_of(key.public_key())
    keymap = {key_id: key.public_key()}
    valid = []
    for name, note, claims in claims_list(key_id):
        payload = qrpayload.encode(claims, key)
        assert qrpayload.decode(payload, keymap) == claims
        valid.append({"name": name, "note": note, "payload": payload, "claims": expected(claims)})
    by_name = {v["name"]: v["payload"] for v in valid}

    def one_char(source: str, where: str | int, why: str) -> dict:
        position = where if isinstance(where, int) else position_of(by_name[source], where)
        payload = change(by_name[source], position)
        return {"name": f"{source}_char_{position}", "from": source, "change": why, "payload": payload,
                "error": error_code(payload, keymap)}

    signature_at = len(by_name["annotation"]) - 20
    other = ec.generate_private_key(ec.SECP256R1())      # thrown away: its key id is unknown to the verifier
    foreign = qrpayload.encode(dataclasses.replace(claims_list(key_id_of(other.public_key()))[0][2]), other)
    invalid = [
        one_char("annotation", "2022ECO110100001", "one character of the certificate number changed"),
        one_char("annotation", signature_at, "one character of the signature changed"),
        one_char("exempt", "欧***", "one character of the masked name changed"),
        one_char("member_default", "北京市→上海市", "one character of a disclosed detail (transfers)"),
        one_char("member_all", "13800138000", "one character of a disclosed detail (mobile)"),
        one_char("member_all", "email", "one character of a disclosed detail's key"),
        one_char("annotation", len(qrpayload.PREFIX) + 5, "one character of the key id changed"),
        {"name": "foreign_key", "from": None, "change": "same claims signed by a key the verifier does not know",
         "payload": foreign, "error": error_code(foreign, keymap)},
        {"name": "lower_case", "from": "annotation", "change": "lower-cased after the prefix",
         "payload": qrpayload.PREFIX + by_name["annotation"][len(qrpayload.PREFIX):].lower(),
         "error": error_code(qrpayload.PREFIX + by_name["annotation"][len(qrpayload.PREFIX):].lower(), keymap)},
        {"name": "truncated", "from": "annotation", "change": "last character removed",
         "payload": by_name["annotation"][:-1], "error": error_code(by_name["annotation"][:-1], keymap)},
    ]
    for vector in invalid:
        assert vector["error"] is not None, vector
    document = {
        "about": "Golden vectors of the CC1 QR payload (certcli/documents/qrpayload.py). Made once by "
                 "tests/vectors/make_vectors.py with the TEST key qr_test_key.pem; read by "
                 "tests/test_qr_vectors.py. QR codes already printed on paper carry these bytes: do not "
                 "regenerate to make a format change pass.",
        "key_file": KEY_FILE.name,
        "key_id": key_id,
        "public_key_pem": key.public_key().public_bytes(serialization.Encoding.PEM,
                                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode(),
        "valid": valid,
        "invalid": invalid,
    }
    OUT_FILE.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {OUT_FILE} ({len(valid)} valid, {len(invalid)} invalid)")


if __name__ == "__main__":
    main()
