"""Compact signed QR payloads (pure ``cryptography``; no pyHanko, no clock).

Format::

    CC1:<BASE32(body || r || s)>            RFC 4648 base32, uppercase, no padding

Every character is in the QR *alphanumeric* set (0-9 A-Z and ``:``), so a QR
encoder can use alphanumeric mode (5.5 bits/char instead of 8).  ``r || s`` is
the raw 64-byte ECDSA P-256/SHA-256 signature (low-S normalised) over
``b"CC1:" + body``.  The body is binary::

    kind (1 byte, "q"|"m") || key_id (8 bytes) || field*

and each field is ``len (1 byte) || UTF-8 bytes``, in order: certificate_no,
qualification_code, masked_name, valid_from, valid_until, then (key, value)
pairs of ``extra``.  A time field is empty (None) or 4 bytes: big-endian Unix
seconds; times are carried to the whole second and decoded in CST (UTC+8).

Decoding is strict: a payload must re-encode to exactly the same string, so
case changes, padding, stray bits or trailing data are rejected.

A QR code carries the payload alone, or ``URL#PAYLOAD`` when the issuer set a verify
URL (the payload in the fragment: a phone camera opens the verification page, which
reads it without sending it to any server); :func:`payload_of` takes the payload out.

:func:`signed_digest` (SHA-256 of ``b"CC1:" + body``) names a payload in the
issuer's registry of issued documents and in a closed key's ledger.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from certcli.errors import BadInput, NotACertcliQr, QrSignatureInvalid, UnknownSigningKey

PREFIX = "CC1:"
CST = timezone(timedelta(hours=8))
KINDS = ("q", "m")
_SIG_LEN = 64
_KEY_ID_LEN = 8
_P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_MAX_CHARS = 2000            # far above any legitimate payload; bounds the work done


@dataclass(frozen=True)
class QrClaims:
    certificate_no: str
    qualification_code: str
    masked_name: str
    valid_from: datetime | None
    valid_until: datetime | None
    key_id: str
    kind: str = "q"
    extra: tuple[tuple[str, str], ...] = ()


# --------------------------------------------------------------------------- encoding

def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=")


def _unb32(text: str) -> bytes:
    padded = text + "=" * (-len(text) % 8)
    return base64.b32decode(padded, casefold=False)


def _field(value: bytes, name: str) -> bytes:
    if len(value) > 255:
        raise BadInput(field=name, reason="too_long")
    return bytes([len(value)]) + value


def _time_bytes(value: datetime | None, name: str) -> bytes:
    if value is None:
        return b""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    seconds = int(value.timestamp() // 1)
    if not 0 <= seconds < 2**32:
        raise BadInput(field=name, reason="out_of_range")
    return seconds.to_bytes(4, "big")


def _body(claims: QrClaims) -> bytes:
    if claims.kind not in KINDS:
        raise BadInput(field="kind", value=claims.kind, reason="unknown_choice", known=list(KINDS))
    try:
        key_id = bytes.fromhex(claims.key_id)
    except ValueError:
        key_id = b""
    if len(key_id) != _KEY_ID_LEN or claims.key_id != key_id.hex():
        raise BadInput(field="key_id", value=claims.key_id, reason="format")
    parts = [claims.kind.encode("ascii"), key_id,
             _field(claims.certificate_no.encode("utf-8"), "certificate_no"),
             _field(claims.qualification_code.encode("utf-8"), "qualification_code"),
             _field(claims.masked_name.encode("utf-8"), "masked_name"),
             _field(_time_bytes(claims.valid_from, "valid_from"), "valid_from"),
             _field(_time_bytes(claims.valid_until, "valid_until"), "valid_until")]
    for key, value in claims.extra:
        if not key:
            raise BadInput(field="extra", reason="empty_key")
        parts += [_field(key.encode("utf-8"), "extra"), _field(value.encode("utf-8"), "extra")]
    return b"".join(parts)


def encode(claims: QrClaims, private_key: ec.EllipticCurvePrivateKey) -> str:
    """Sign ``claims`` with the seal's P-256 key; returns the QR text."""
    if not isinstance(private_key, ec.EllipticCurvePrivateKey) or \
            not isinstance(private_key.curve, ec.SECP256R1):
        raise ValueError("a P-256 private key is required")
    body = _body(claims)
    der = private_key.sign(PREFIX.encode("ascii") + body, ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    if s > _P256_N // 2:                     # low-S: one signature encoding per (r, |s|)
        s = _P256_N - s
    return PREFIX + _b32(body + r.to_bytes(32, "big") + s.to_bytes(32, "big"))


# --------------------------------------------------------------------------- decoding

def _public_key(entry):
    """Accept ``{key_id: public_key}`` or ``{key_id: (info, public_key)}``."""
    if isinstance(entry, tuple):
        entry = entry[-1]
    return entry


def _parse_fields(data: bytes) -> list[bytes]:
    fields, pos = [], 0
    while pos < len(data):
        length = data[pos]
        end = pos + 1 + length
        if end > len(data):
            raise ValueError("truncated field")
        fields.append(data[pos + 1:end])
        pos = end
    return fields


def _time(raw: bytes) -> datetime | None:
    if not raw:
        return None
    if len(raw) != 4:
        raise ValueError("bad time")
    return datetime.fromtimestamp(int.from_bytes(raw, "big"), tz=CST)


def _split(payload: str) -> tuple[bytes, bytes]:
    """``(body, signature)`` of a well-formed payload (no signature check);
    :class:`NotACertcliQr` for anything else."""
    if not isinstance(payload, str) or not payload.startswith(PREFIX) \
            or len(payload) > _MAX_CHARS:
        raise NotACertcliQr()
    text = payload[len(PREFIX):]
    try:
        blob = _unb32(text)
    except (binascii.Error, ValueError) as exc:
        raise NotACertcliQr() from exc
    if _b32(blob) != text or len(blob) < 1 + _KEY_ID_LEN + 5 + _SIG_LEN:
        raise NotACertcliQr()                # non-canonical encoding or too short
    body, sig = blob[:-_SIG_LEN], blob[-_SIG_LEN:]
    if body[:1] not in (b"q", b"m"):
        raise NotACertcliQr()
    return body, sig


def _claims(body: bytes) -> QrClaims:
    try:
        fields = _parse_fields(body[1 + _KEY_ID_LEN:])
        if len(fields) < 5 or (len(fields) - 5) % 2:
            raise ValueError("bad field count")
        text_fields = [f.decode("utf-8") for f in fields[:3] + fields[5:]]
        extra = tuple(zip(text_fields[3::2], text_fields[4::2]))
        claims = QrClaims(certificate_no=text_fields[0], qualification_code=text_fields[1],
                          masked_name=text_fields[2], valid_from=_time(fields[3]),
                          valid_until=_time(fields[4]), key_id=body[1:1 + _KEY_ID_LEN].hex(),
                          kind=body[:1].decode("ascii"), extra=extra)
    except (ValueError, UnicodeDecodeError) as exc:   # signed by us, yet malformed
        raise NotACertcliQr() from exc
    if _body(claims) != body:
        raise NotACertcliQr()
    return claims


def payload_of(scanned: str) -> str:
    """The payload in what a QR code carries: ``URL#PAYLOAD`` (a document processed with a
    verify URL, ``admin config --verify-url``) gives the part after the first ``#``; anything
    else is returned as it is, to be checked as a bare payload.  Only an ``http(s)://`` text
    is read as a URL, and nothing else is changed: one edited character still fails."""
    if isinstance(scanned, str) and "#" in scanned and scanned[:8].lower().startswith(("https://", "http://")):
        return scanned.split("#", 1)[1]
    return scanned


def signed_digest(payload: str) -> str:
    """SHA-256 (hex) of the bytes the payload's signature covers (``b"CC1:" + body``):
    the payload's entry in the issued-document registry and in a closed key's ledger.
    The signature itself is left out, so it names the signed content whichever
    (valid) signature value carries it.  :class:`NotACertcliQr` if malformed."""
    body, _ = _split(payload)
    return _digest(body)


def _digest(body: bytes) -> str:
    return hashlib.sha256(PREFIX.encode("ascii") + body).hexdigest()


def unverified_claims(payload: str) -> QrClaims:
    """The claims of a well-formed payload WITHOUT checking its signature: only for
    documents the caller itself just signed or stored (the issuer's registry)."""
    body, _ = _split(payload)
    return _claims(body)


def decode(payload: str, public_keys: Mapping) -> QrClaims:
    """Verify and decode a payload made by :func:`encode`.

    Raises :class:`NotACertcliQr` for anything that is not this format,
    :class:`UnknownSigningKey` if the key id is not in ``public_keys``, and
    :class:`QrSignatureInvalid` if the signature does not verify.
    """
    return decode_signed(payload, public_keys)[0]


def decode_signed(payload: str, public_keys: Mapping) -> tuple[QrClaims, str]:
    """:func:`decode`, and the payload's :func:`signed_digest` from the same base32 decoding
    (a verification needs both: the claims, and the entry naming them in the registry)."""
    body, sig = _split(payload)
    key_id = body[1:1 + _KEY_ID_LEN].hex()
    if key_id not in public_keys:
        raise UnknownSigningKey(key_id=key_id)
    public_key = _public_key(public_keys[key_id])
    r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
    if not (0 < r < _P256_N and 0 < s <= _P256_N // 2):
        raise QrSignatureInvalid(key_id=key_id)
    try:
        public_key.verify(encode_dss_signature(r, s), PREFIX.encode("ascii") + body,
                          ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise QrSignatureInvalid(key_id=key_id) from exc
    return _claims(body), _digest(body)
