"""The public trust bundle: what a verifier without the issuer's store trusts.

One PEM-style text file (its layout: :mod:`certcli.pki.trust_bundle_format`) holding
the issuer root certificate, every seal certificate, the revocation list and a
manifest, signed by the issuer ROOT key (``admin trust`` needs the passphrase).
The manifest carries ``issued_at`` and ``next_update``; the root's and every seal
certificate's SHA-256; per seal key its history (``status`` active / rotated /
retired, ``rotated_at``, ``compromised_at``), the qualification codes its seal may
sign (those of the certificates issued under it, :mod:`certcli.catalog`) and, for a
*closed* key (rotated, retired, or its certificate ended or about to end:
:func:`certcli.certificates.trust.is_closed`), its ledger's count and SHA-256
(:mod:`certcli.pki.ledgers`); and the revocation list's count and SHA-256.  Parsing
re-renders the whole file from what it authenticated and requires the same text byte
for byte (CRLF line ends aside): an edited manifest byte fails the signature, a
swapped certificate its hash, a deleted or edited comment line the re-rendering.
The file is capped at 1 MiB.

**Revocation list.**  Entry = the first 8 bytes of
``SHA-256("certcli revocation v1" NUL root_key_id NUL certificate_no)``, sorted.
Why: a deny-list of revoked certificates only (an allow-list of 10M valid numbers
would be 80 MB and publish every number); no names, ID numbers, reasons or dates,
and numbers only as hashes, so the list answers "is this number, which I already
hold, revoked?" and nothing else (certificate numbers are structured, so a patient
reader can still test guessed numbers one by one, as the public lookup allows, but
learns no name from it); the root key id in the hash makes lists of different
issuers unlinkable.  8 bytes: with 100,000 entries a valid certificate is wrongly
seen as revoked with probability 100,000 / 2^64 ≈ 5e-15 per check.  Size: 8 bytes
per revoked certificate, 10.7 base64 characters in the file; at 10M certificates
and 0.1 % revoked (10,000) the list adds 107 KiB, and the 1 MiB cap leaves room for
about 95,000 revocations (~1 % of 10M).  ``admin trust`` refuses to write a larger
bundle than verifiers accept.  Measured (``python -m bench.ledger_bench``): the
revocation list at 95,000 entries makes a 1009 KiB bundle.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Callable

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.x509.oid import NameOID

from certcli.errors import BadTrustBundle
from certcli.pki.keys import SealInfo, info_from_cert, iso_text, key_id_of, parse_iso_text, subject_value
from certcli.pki.ledgers import LedgerRef, sorted_contains
from certcli.pki.trust_bundle_format import (CERTIFICATE, FORMAT, MANIFEST, REVOCATION_LIST, REVOCATION_MAGIC,
                                             SIGNATURE, SIGNED_PREFIX, canonical_json, decode_block, refusal,
                                             render_bundle, sha256_hex, split_blocks)

MAX_BUNDLE_BYTES = 2**20
REVOCATION_ENTRY_BYTES = 8
_P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


@dataclass(frozen=True)
class SealEntry:
    """One seal key for :func:`build_bundle`."""

    info: SealInfo
    certificate: x509.Certificate
    qualifications: tuple[str, ...] = ()
    ledger: LedgerRef | None = None       # set for a closed key


@dataclass(frozen=True)
class TrustBundle:
    roots: tuple[x509.Certificate, ...]
    seal_certificates: tuple[x509.Certificate, ...]
    keys: dict[str, tuple[SealInfo, ec.EllipticCurvePublicKey]]
    issued_at: datetime | None = None
    next_update: datetime | None = None
    qualifications: dict[str, frozenset] = field(default_factory=dict)   # key_id -> codes it may sign
    ledgers: dict[str, LedgerRef] = field(default_factory=dict)          # key_id -> ledger (closed keys)
    revoked: bytes = b""                                                   # sorted 8-byte entries

    @property
    def root(self) -> x509.Certificate:
        return self.roots[0]

    @property
    def root_key_id(self) -> str:
        return key_id_of(self.root.public_key())

    def public_keys(self) -> dict[str, tuple[SealInfo, ec.EllipticCurvePublicKey]]:
        return dict(self.keys)                 # same shape as IssuerKeys.public_keys()

    def is_revoked(self, certificate_no: str) -> bool:
        return sorted_contains(self.revoked, revocation_entry(self.root_key_id, certificate_no),
                               REVOCATION_ENTRY_BYTES)

    def may_sign(self, key_id: str, qualification_code: str) -> bool:
        return qualification_code in self.qualifications.get(key_id, frozenset())


# --------------------------------------------------------------------------- entries

def revocation_entry(root_key_id: str, certificate_no: str) -> bytes:
    data = b"certcli revocation v1\0" + root_key_id.encode("ascii") + b"\0" + certificate_no.encode("utf-8")
    return hashlib.sha256(data).digest()[:REVOCATION_ENTRY_BYTES]


# --------------------------------------------------------------------------- writing

def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def _low_s(signature: bytes) -> bytes:
    r, s = decode_dss_signature(signature)
    return encode_dss_signature(r, _P256_N - s if s > _P256_N // 2 else s)


def build_bundle(root: x509.Certificate, seals: list[SealEntry], *, revoked: list[bytes], issued_at: datetime,
                 next_update: datetime, sign: Callable[[bytes], bytes]) -> str:
    """The signed bundle text.  ``sign(data)`` signs with the root key (DER ECDSA);
    ``revoked`` are :func:`revocation_entry` values."""
    revoked_bytes = b"".join(sorted(set(revoked)))
    manifest = {
        "format": FORMAT,
        "issued_at": iso_text(issued_at), "next_update": iso_text(next_update),
        "root": {"name": subject_value(root, NameOID.COMMON_NAME), "key_id": key_id_of(root.public_key()),
                 "certificate_sha256": sha256_hex(_der(root))},
        "revocation": {"count": len(revoked_bytes) // REVOCATION_ENTRY_BYTES,
                       "entry": "sha256(\"certcli revocation v1\" 0 root_key_id 0 certificate_no)[:8]",
                       "sha256": sha256_hex(revoked_bytes)},
        "seals": [],
    }
    for entry in seals:
        info = entry.info
        seal = {"seal_id": info.seal_id, "name": info.name, "key_id": info.key_id, "status": info.status,
                "certificate_sha256": sha256_hex(_der(entry.certificate)),
                "not_before": iso_text(info.not_before), "not_after": iso_text(info.not_after),
                "rotated_at": iso_text(info.rotated_at), "compromised_at": iso_text(info.retired_at),
                "qualifications": sorted(set(entry.qualifications)),
                "ledger": None if entry.ledger is None else {"count": entry.ledger.count,
                                                             "sha256": entry.ledger.sha256}}
        manifest["seals"].append(seal)
    signed = SIGNED_PREFIX + canonical_json(manifest)
    signature = _low_s(sign(signed))
    return render_bundle(manifest, [_der(root)] + [_der(e.certificate) for e in seals], revoked_bytes, signature)


# --------------------------------------------------------------------------- reading

def _instant(value, what: str) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_iso_text(value)
    except (TypeError, ValueError, AttributeError):
        raise refusal("bad_manifest", what) from None


def _verify_signature(root: x509.Certificate, signed: bytes, signature: bytes) -> None:
    key = root.public_key()
    try:
        r, s = decode_dss_signature(signature)
        canonical = encode_dss_signature(r, s) == signature and 0 < s <= _P256_N // 2
        if not canonical or not isinstance(key, ec.EllipticCurvePublicKey):
            raise InvalidSignature()
        key.verify(signature, signed, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, TypeError):
        raise refusal("signature_invalid") from None


def parse_trust_bundle(data: str | bytes) -> TrustBundle:
    """Check and read a bundle made by :func:`build_bundle`; :class:`BadTrustBundle`
    (exit 6) for anything else, naming what was wrong."""
    if isinstance(data, str):
        data = data.encode("utf-8", errors="surrogateescape")
    if len(data) > MAX_BUNDLE_BYTES:
        raise refusal("too_large")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise refusal("not_utf8") from None
    if "PRIVATE KEY" in text:
        raise refusal("contains_private_key")
    text = text.replace("\r\n", "\n")
    blocks = split_blocks(text)
    kinds = [kind for kind, _ in blocks]
    if MANIFEST not in kinds or SIGNATURE not in kinds:
        raise refusal("unsigned" if CERTIFICATE in kinds else "empty")
    if kinds.count(MANIFEST) != 1 or kinds.count(SIGNATURE) != 1 or kinds.count(REVOCATION_LIST) != 1 \
            or not kinds or kinds[0] != CERTIFICATE:
        raise refusal("bad_layout")
    body = {kind: lines for kind, lines in blocks if kind != CERTIFICATE}
    certificates = [decode_block(lines, "certificate") for kind, lines in blocks if kind == CERTIFICATE]
    manifest_bytes = decode_block(body[MANIFEST], "manifest")
    signature = decode_block(body[SIGNATURE], "signature")
    try:
        root = x509.load_der_x509_certificate(certificates[0])
    except ValueError:
        raise refusal("bad_certificate", "root") from None
    _verify_signature(root, SIGNED_PREFIX + manifest_bytes, signature)
    # From here on the manifest is the root's word; everything else must match it.
    try:
        manifest = json.loads(manifest_bytes.decode("utf-8"))
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or \
                canonical_json(manifest) != manifest_bytes:
            raise ValueError("format")
        bundle = _read(manifest, certificates, root, body)
    except BadTrustBundle:
        raise
    except (ValueError, KeyError, TypeError, AttributeError, IndexError, UnicodeDecodeError):
        raise refusal("bad_manifest") from None
    if render_bundle(manifest, certificates, bundle.revoked, signature) != text:
        raise refusal("edited")               # a comment line, a blank line, spacing: anything
    return bundle


def _read(manifest: dict, certificates: list[bytes], root: x509.Certificate, body: dict) -> TrustBundle:
    seals, root_entry, revocation = manifest["seals"], manifest["root"], manifest["revocation"]
    if sha256_hex(certificates[0]) != root_entry["certificate_sha256"] or not _self_issued_ca(root):
        raise refusal("certificate_mismatch", "root")
    if len(seals) != len(certificates) - 1:
        raise refusal("certificate_mismatch", "count")
    keys: dict[str, tuple[SealInfo, ec.EllipticCurvePublicKey]] = {}
    qualifications: dict[str, frozenset] = {}
    ledgers: dict[str, LedgerRef] = {}
    leaves = []
    for seal, der in zip(seals, certificates[1:]):
        key_id = str(seal["key_id"])
        try:
            cert = x509.load_der_x509_certificate(der)
        except ValueError:
            raise refusal("bad_certificate", key_id[:20]) from None
        if sha256_hex(der) != seal["certificate_sha256"] or not _issued_by(cert, root):
            raise refusal("certificate_mismatch", key_id[:20])
        public_key = cert.public_key()
        if not isinstance(public_key, ec.EllipticCurvePublicKey) or key_id_of(public_key) != key_id \
                or seal["status"] not in ("active", "rotated", "retired"):
            raise refusal("bad_manifest", key_id[:20])
        info = info_from_cert(cert, str(seal["seal_id"]), seal["status"],
                              _instant(seal["compromised_at"], "compromised_at"),
                              _instant(seal["rotated_at"], "rotated_at"))
        keys[key_id] = (replace(info, name=str(seal["name"]) or info.name), public_key)
        qualifications[key_id] = frozenset(str(code) for code in seal["qualifications"])
        if seal["ledger"] is not None:
            ledgers[key_id] = LedgerRef(key_id, int(seal["ledger"]["count"]), str(seal["ledger"]["sha256"]))
        leaves.append(cert)
    revoked = _revocation_list(body[REVOCATION_LIST], revocation)
    return TrustBundle(roots=(root,), seal_certificates=tuple(leaves), keys=keys,
                       issued_at=_instant(manifest["issued_at"], "issued_at"),
                       next_update=_instant(manifest["next_update"], "next_update"),
                       qualifications=qualifications, ledgers=ledgers, revoked=revoked)


def _revocation_list(lines: list[str], committed: dict) -> bytes:
    """The revocation block's sorted entries, checked against the manifest's count and hash."""
    block = decode_block(lines, "revocation list")
    if not block.startswith(REVOCATION_MAGIC):
        raise refusal("revocation_list_mismatch")
    revoked = block[len(REVOCATION_MAGIC):]
    width = REVOCATION_ENTRY_BYTES
    if sha256_hex(revoked) != committed["sha256"] or len(revoked) != width * int(committed["count"]) or \
            any(revoked[i - width:i] >= revoked[i:i + width] for i in range(width, len(revoked), width)):
        raise refusal("revocation_list_mismatch")
    return revoked


def _self_issued_ca(cert: x509.Certificate) -> bool:
    try:
        is_ca = bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False
    return is_ca and _issued_by(cert, cert)


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
        return True
    except (InvalidSignature, ValueError, TypeError):
        return False
