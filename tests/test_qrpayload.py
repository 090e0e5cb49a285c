"""Signed QR payloads: round trip, tamper evidence, strict format, size.
(Decoding speed is a benchmark figure: bench/verify_bench.py, qrpayload.decode.)"""
from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from certcli.errors import BadInput, NotACertcliQr, QrSignatureInvalid, UnknownSigningKey
from certcli.pki.keys import IssuerKeys, key_id_of
from certcli.documents.qrpayload import PREFIX, QrClaims, decode, encode

CST = timezone(timedelta(hours=8))
QR_ALPHANUMERIC = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
FAILURES = (NotACertcliQr, QrSignatureInvalid, UnknownSigningKey)
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


@pytest.fixture(scope="module")
def key():
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def keymap(key):
    return {key_id_of(key.public_key()): key.public_key()}


def realistic(key, **changes) -> QrClaims:
    claims = QrClaims(
        certificate_no="2021110100000123456",
        qualification_code="ECO-M",
        masked_name="欧阳*",
        valid_from=datetime(2026, 3, 1, 10, 0, 7, tzinfo=CST),
        valid_until=datetime(2026, 5, 30, 0, 0, tzinfo=CST),       # start of day D+N, CST
        key_id=key_id_of(key.public_key()),
    )
    return QrClaims(**{**claims.__dict__, **changes})


def test_round_trip(key, keymap):
    claims = realistic(key)
    payload = encode(claims, key)
    assert payload.startswith(PREFIX)
    assert decode(payload, keymap) == claims


def test_round_trip_exempt_and_membership(key, keymap):
    exempt = realistic(key, valid_from=None, valid_until=None, masked_name="张*")
    assert decode(encode(exempt, key), keymap) == exempt
    member = realistic(key, kind="m", certificate_no="M2021000123", qualification_code="CPA-MBR",
                       valid_from=None, valid_until=None, masked_name="王*明",
                       extra=(("mobile", "138****5678"), ("email", "w***@example.com"),
                              ("approval_no", "中注协〔2021〕12号"), ("note", "a=b|c")))
    decoded = decode(encode(member, key), keymap)
    assert decoded == member and decoded.kind == "m"


def test_decoded_times_are_cst(key, keymap):
    claims = realistic(key, valid_until=datetime(2026, 5, 29, 16, 0, tzinfo=timezone.utc))
    decoded = decode(encode(claims, key), keymap)
    assert decoded.valid_until == claims.valid_until
    assert decoded.valid_until.utcoffset() == timedelta(hours=8)
    assert (decoded.valid_until.hour, decoded.valid_until.minute) == (0, 0)


def test_length_and_qr_alphanumeric(key):
    payload = encode(realistic(key), key)
    assert len(payload) <= 300, len(payload)
    assert set(payload) <= QR_ALPHANUMERIC


def test_accepts_issuer_key_map(tmp_path):
    keys = IssuerKeys(tmp_path / "keys")
    keys.init(b"pw", datetime(2026, 3, 1, tzinfo=CST))
    seal = keys.load_seal("ministry", b"pw")
    claims = realistic(seal.private_key)
    assert claims.key_id == seal.info.key_id
    assert decode(encode(claims, seal.private_key), keys.public_keys()) == claims


def test_every_single_character_edit_fails(key, keymap):
    payload = encode(realistic(key), key)
    for i, ch in enumerate(payload):
        for sub in {BASE32[(BASE32.find(ch) + 1) % 32] if ch in BASE32 else "A", ch.lower()}:
            if sub == ch:
                continue
            edited = payload[:i] + sub + payload[i + 1:]
            with pytest.raises(FAILURES):
                decode(edited, keymap)
        with pytest.raises(FAILURES):                              # deletion
            decode(payload[:i] + payload[i + 1:], keymap)
        with pytest.raises(FAILURES):                              # insertion
            decode(payload[:i] + "A" + payload[i:], keymap)


def test_content_edit_is_a_signature_failure(key, keymap):
    payload = encode(realistic(key), key)
    blob = base64.b32decode(payload[len(PREFIX):] + "=" * (-len(payload[len(PREFIX):]) % 8))
    pos = blob.index(b"2021110100000123456")
    forged = blob[:pos] + b"2021110100000123457" + blob[pos + 19:]
    text = base64.b32encode(forged).decode().rstrip("=")
    with pytest.raises(QrSignatureInvalid):
        decode(PREFIX + text, keymap)


def test_non_canonical_encodings_rejected(key, keymap):
    payload = encode(realistic(key), key)
    body = payload[len(PREFIX):]
    variants = [payload + "=" * (-len(body) % 8), payload + "====", payload.lower(),
                PREFIX.lower() + body, " " + payload, payload + " ", payload + "\n",
                "CC2:" + body, "CC1" + body]
    # a different final character that decodes to the same bytes (stray low bits)
    last = BASE32.index(body[-1])
    for alt in range(32):
        if alt != last:
            candidate = payload[:-1] + BASE32[alt]
            try:
                same = base64.b32decode(candidate[len(PREFIX):] + "=" * (-len(body) % 8)) == \
                    base64.b32decode(body + "=" * (-len(body) % 8))
            except ValueError:
                same = False
            if same:
                variants.append(candidate)
    for v in variants:
        with pytest.raises(FAILURES):
            decode(v, keymap)


def test_high_s_signature_variant_rejected(key, keymap):
    payload = encode(realistic(key), key)
    body = payload[len(PREFIX):]
    blob = base64.b32decode(body + "=" * (-len(body) % 8))
    s = int.from_bytes(blob[-32:], "big")
    assert s <= P256_N // 2                                         # encoder emits low-S
    twin = blob[:-32] + (P256_N - s).to_bytes(32, "big")            # also a valid ECDSA sig
    with pytest.raises(QrSignatureInvalid):
        decode(PREFIX + base64.b32encode(twin).decode().rstrip("="), keymap)


@pytest.mark.parametrize("foreign", [
    "", "hello", "https://example.com/verify?no=123", "CC1:", "CC1:====", "CC1:AAAA",
    "CC1:" + "A" * 10, "CC1:!!!!", "CC1:" + "7" * 200, "二维码", "CC1:" + "A" * 5000,
    "BEGIN:VCARD\nFN:张三\nEND:VCARD",
])
def test_foreign_strings(keymap, foreign):
    with pytest.raises(NotACertcliQr):
        decode(foreign, keymap)


def test_non_string_input(keymap):
    with pytest.raises(NotACertcliQr):
        decode(b"CC1:ABC", keymap)                                   # type: ignore[arg-type]


def test_unknown_key(key):
    other = ec.generate_private_key(ec.SECP256R1())
    payload = encode(realistic(key), key)
    with pytest.raises(UnknownSigningKey):
        decode(payload, {key_id_of(other.public_key()): other.public_key()})
    with pytest.raises(UnknownSigningKey):
        decode(payload, {})


def test_key_id_claimed_but_signed_by_another_key(key, keymap):
    other = ec.generate_private_key(ec.SECP256R1())
    forged = encode(realistic(key), other)            # claims key's id, signed by other
    with pytest.raises(QrSignatureInvalid):
        decode(forged, keymap)


def test_encode_validates_input(key):
    with pytest.raises(BadInput):
        encode(realistic(key, kind="x"), key)
    with pytest.raises(BadInput):
        encode(realistic(key, key_id="XYZ"), key)
    with pytest.raises(BadInput):
        encode(realistic(key, masked_name="名" * 100), key)
    with pytest.raises(ValueError):
        encode(realistic(key, valid_from=datetime(2026, 3, 1)), key)
    with pytest.raises(ValueError):
        encode(realistic(key), ec.generate_private_key(ec.SECP384R1()))
