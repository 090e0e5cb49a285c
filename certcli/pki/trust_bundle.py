"""The public trust bundle: what a verifier without the issuer's store trusts.

One PEM-style text file, signed by the issuer ROOT key (``admin trust`` needs the
passphrase), made of, in this order::

    # comment lines (rendered from the manifest: for people, never read back)
    -----BEGIN CERTIFICATE-----             the issuer root (CA, self-signed)
    -----BEGIN CERTIFICATE-----             every seal certificate, any status
    -----BEGIN CERTCLI REVOCATION LIST----- "CCR1" + sorted 8-byte entries, base64
    -----BEGIN CERTCLI TRUST MANIFEST-----  canonical JSON (UTF-8, sorted keys, no spaces), base64
    -----BEGIN CERTCLI TRUST SIGNATURE----- ECDSA P-256/SHA-256 (DER, low-S) by the root
                                            over ``SIGNED_PREFIX + manifest``

The manifest carries ``issued_at`` and ``next_update``; the root's and every seal
certificate's SHA-256; per seal key its history (``status`` active / rotated /
retired, ``rotated_at``, ``compromised_at``), the qualification codes its seal may
sign (those of the certificates issued under it, :mod:`certcli.catalog`) and, for a
*closed* key (rotated, retired, or its certificate ended or about to end:
:func:`certcli.certificates.trust.is_closed`), its ledger's count and
SHA-256; and the revocation list's count and SHA-256.  Parsing re-renders the whole
file from what it authenticated and requires the same text byte for byte (CRLF line
ends aside): an edited manifest byte fails the signature, a swapped certificate its
hash, a deleted or edited comment line the re-rendering.  The file is capped at
1 MiB and parsed in one pass over its lines (``str.split``, no regular expression):
a hostile file (repeated BEGIN lines, no END) fails at its second line.

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
bundle than verifiers accept.

**Ledgers** (beside the bundle, ``<bundle stem>.ledgers/<key_id>.bin``): for a closed
key, the sorted first 16 bytes of the SHA-256 of every document it legitimately
signed while its certificate was in force (each PDF's /ByteRange digest and each QR
payload's signed-bytes digest, from the issuer's registry; for a retired key only those
signed before its compromise): what keeps them valid after it ends (the chain model).
The manifest commits to each file's SHA-256 and count, so a ledger cannot be edited
either; a verifier hashes the file once and looks a document up by binary search.
16 bytes: finding a new document whose digest prefix hits one of 2M entries costs
2^107 hashes.  Measured (``python -m bench.ledger_bench``, 2 cores): a key that signed
1M documents (a PDF and a QR payload each: 2M entries) has a 30.5 MiB ledger; closing
it (``rotate-seal``: one walk of the registry index) takes 2.2 s; checking one document
against it in a fresh ``verify`` takes 22 ms (reading + hashing the file; the binary
search itself is 6 µs).  The revocation list at 95,000 entries makes a 1009 KiB bundle.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Callable

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.x509.oid import NameOID

from certcli.errors import BadTrustBundle
from certcli.pki.keys import SealInfo, info_from_cert, iso_text, key_id_of, parse_iso_text, subject_value

FORMAT = "certcli-trust-bundle/2"
SIGNED_PREFIX = b"certcli trust manifest v2\n"
MAX_BUNDLE_BYTES = 2**20
MAX_CERTIFICATES = 1024
REVOCATION_ENTRY_BYTES = 8
REVOCATION_MAGIC = b"CCR1"          # the revocation block: this, then the sorted entries
LEDGER_ENTRY_BYTES = 16
LEDGER_SUFFIX = ".ledgers"
_P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_CERT, _REVOKED, _MANIFEST, _SIGNATURE = ("CERTIFICATE", "CERTCLI REVOCATION LIST", "CERTCLI TRUST MANIFEST",
                                          "CERTCLI TRUST SIGNATURE")
_BLOCKS = (_CERT, _REVOKED, _MANIFEST, _SIGNATURE)


@dataclass(frozen=True)
class LedgerRef:
    """A closed key's ledger as the manifest commits to it."""

    key_id: str
    count: int
    sha256: str

    @property
    def file_name(self) -> str:
        return ledger_file_name(self.key_id)


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


def ledger_entry(digest_hex: str) -> bytes:
    """A registry digest (hex SHA-256) as a ledger entry: its first 16 bytes."""
    return bytes.fromhex(digest_hex[:2 * LEDGER_ENTRY_BYTES])


def ledger_file_name(key_id: str) -> str:
    return f"{key_id}.bin"


def ledger_dir_beside(bundle_path: Path) -> Path:
    """``DIR/trust.pem`` → ``DIR/trust.ledgers``: where ``admin trust -o`` writes the ledgers
    and ``verify --trust`` looks for them."""
    bundle_path = Path(bundle_path)
    return bundle_path.with_name(bundle_path.stem + LEDGER_SUFFIX)


def sorted_contains(table: bytes | memoryview, entry: bytes, width: int) -> bool:
    """Binary search of ``entry`` in ``table``, sorted fixed-width records."""
    low, high = 0, len(table) // width
    view = memoryview(table)
    while low < high:
        middle = (low + high) // 2
        probe = bytes(view[middle * width:(middle + 1) * width])
        if probe < entry:
            low = middle + 1
        elif probe > entry:
            high = middle
        else:
            return True
    return False


class LedgerUnavailable(Exception):
    """A closed key's ledger file cannot be used: ``reason`` is ``ledger_missing`` or
    ``ledger_mismatch`` (not what the bundle committed to); ``path`` names the file."""

    def __init__(self, reason: str, path: str):
        super().__init__(reason)
        self.reason, self.path = reason, path


def load_ledger(ref: LedgerRef, directory: Path | None) -> bytes:
    """The ledger file of ``ref``, checked against the bundle's commitment."""
    if ref.count == 0:
        return b""
    if directory is None:
        raise LedgerUnavailable("ledger_missing", ref.file_name)
    path = Path(directory) / ref.file_name
    import os
    import stat

    expected = ref.count * LEDGER_ENTRY_BYTES
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise LedgerUnavailable("ledger_missing", str(path))
        with open(path, "rb") as handle:
            data = handle.read(expected + 1)
    except OSError:
        raise LedgerUnavailable("ledger_missing", str(path)) from None
    if len(data) != expected or hashlib.sha256(data).hexdigest() != ref.sha256:
        raise LedgerUnavailable("ledger_mismatch", str(path))
    return data


# --------------------------------------------------------------------------- writing

def _pem_lines(kind: str, der: bytes) -> list[str]:
    text = base64.b64encode(der).decode("ascii")
    return [f"-----BEGIN {kind}-----", *(text[i:i + 64] for i in range(0, len(text), 64)),
            f"-----END {kind}-----"]


def _one_line(value) -> str:
    return " ".join(str(value).split())


def _canonical(manifest: dict) -> bytes:
    return json.dumps(manifest, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _low_s(signature: bytes) -> bytes:
    r, s = decode_dss_signature(signature)
    return encode_dss_signature(r, _P256_N - s if s > _P256_N // 2 else s)


def _render(manifest: dict, certificates: list[bytes], revoked: bytes, signature: bytes) -> str:
    """The whole file, from what the signature authenticates (and the signature)."""
    root = manifest["root"]
    lines = ["# certcli trust bundle: the issuer root, its seal keys and their history, the qualifications",
             "# each seal may sign and the revocation list, signed by the root (CERTCLI TRUST SIGNATURE).",
             "# Verifiers refuse it if anything in it is edited.  It tells the status as of issued_at;",
             "# fetch a new one by next_update.",
             f"# issuer: {_one_line(root['name'])}",
             f"# root key_id: {root['key_id']}",
             f"# issued_at: {manifest['issued_at']}",
             f"# next_update: {manifest['next_update']}",
             f"# revoked certificates: {manifest['revocation']['count']}",
             *_pem_lines(_CERT, certificates[0])]
    for seal, der in zip(manifest["seals"], certificates[1:]):
        lines += [f"# seal_id: {seal['seal_id']}", f"# name: {_one_line(seal['name'])}",
                  f"# key_id: {seal['key_id']}", f"# status: {seal['status']}",
                  f"# validity: {seal['not_before']} .. {seal['not_after']}"]
        if seal.get("rotated_at"):
            lines.append(f"# rotated_at: {seal['rotated_at']}")
        if seal.get("compromised_at"):
            lines.append(f"# retired_at: {seal['compromised_at']} (compromised: signatures from then on are "
                         "NOT valid)")
        lines.append(f"# qualifications: {' '.join(seal['qualifications']) or '(none)'}")
        if seal.get("ledger"):
            ledger = seal["ledger"]
            lines.append(f"# ledger: {ledger['count']} documents, sha256 {ledger['sha256']} "
                         f"(file {ledger_file_name(seal['key_id'])}): nothing else it signed is valid")
        lines += _pem_lines(_CERT, der)
    lines += _pem_lines(_REVOKED, REVOCATION_MAGIC + revoked)   # never an empty block: PEM tools choke on one
    lines += _pem_lines(_MANIFEST, _canonical(manifest))
    lines += _pem_lines(_SIGNATURE, signature)
    return "\n".join(lines) + "\n"


def build_bundle(root: x509.Certificate, seals: list[SealEntry], *, revoked: list[bytes], issued_at: datetime,
                 next_update: datetime, sign: Callable[[bytes], bytes]) -> str:
    """The signed bundle text.  ``sign(data)`` signs with the root key (DER ECDSA);
    ``revoked`` are :func:`revocation_entry` values."""
    revoked_bytes = b"".join(sorted(set(revoked)))
    manifest = {
        "format": FORMAT,
        "issued_at": iso_text(issued_at), "next_update": iso_text(next_update),
        "root": {"name": subject_value(root, NameOID.COMMON_NAME), "key_id": key_id_of(root.public_key()),
                 "certificate_sha256": _sha(_der(root))},
        "revocation": {"count": len(revoked_bytes) // REVOCATION_ENTRY_BYTES,
                       "entry": "sha256(\"certcli revocation v1\" 0 root_key_id 0 certificate_no)[:8]",
                       "sha256": _sha(revoked_bytes)},
        "seals": [],
    }
    for entry in seals:
        info = entry.info
        seal = {"seal_id": info.seal_id, "name": info.name, "key_id": info.key_id, "status": info.status,
                "certificate_sha256": _sha(_der(entry.certificate)),
                "not_before": iso_text(info.not_before), "not_after": iso_text(info.not_after),
                "rotated_at": iso_text(info.rotated_at), "compromised_at": iso_text(info.retired_at),
                "qualifications": sorted(set(entry.qualifications)),
                "ledger": None if entry.ledger is None else {"count": entry.ledger.count,
                                                             "sha256": entry.ledger.sha256}}
        manifest["seals"].append(seal)
    signed = SIGNED_PREFIX + _canonical(manifest)
    signature = _low_s(sign(signed))
    return _render(manifest, [_der(root)] + [_der(e.certificate) for e in seals], revoked_bytes, signature)


# --------------------------------------------------------------------------- reading

def _refuse(reason: str, detail: str | None = None) -> BadTrustBundle:
    return BadTrustBundle(reason="bundle_" + reason, detail=detail)


def _blocks(text: str) -> list[tuple[str, list[str]]]:
    """``(kind, body lines)`` of every BEGIN/END block, in one pass over the lines.
    Outside a block only comment (``#``) and blank lines may stand."""
    blocks: list[tuple[str, list[str]]] = []
    current: list[str] | None = None
    kind = ""
    for number, line in enumerate(text.split("\n"), start=1):
        if current is None:
            if line.startswith("-----BEGIN ") and line.endswith("-----"):
                kind = line[len("-----BEGIN "):-len("-----")]
                if kind not in _BLOCKS:
                    raise _refuse("unexpected_block", f"line {number}: {kind[:40]}")
                current = []
            elif line.strip() and not line.startswith("#"):
                raise _refuse("unexpected_line", f"line {number}")
        elif line == f"-----END {kind}-----":
            blocks.append((kind, current))
            current = None
            if len(blocks) > MAX_CERTIFICATES + 3:
                raise _refuse("too_many_blocks")
        elif line.startswith("-----"):
            raise _refuse("unterminated_block", f"line {number}")
        else:
            current.append(line)
    if current is not None:
        raise _refuse("unterminated_block", "end of file")
    return blocks


def _b64(lines: list[str], what: str) -> bytes:
    try:
        return base64.b64decode("".join(lines), validate=True)
    except (binascii.Error, ValueError):
        raise _refuse("bad_encoding", what) from None


def _instant(value, what: str) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_iso_text(value)
    except (TypeError, ValueError, AttributeError):
        raise _refuse("bad_manifest", what) from None


def _verify_signature(root: x509.Certificate, signed: bytes, signature: bytes) -> None:
    key = root.public_key()
    try:
        r, s = decode_dss_signature(signature)
        canonical = encode_dss_signature(r, s) == signature and 0 < s <= _P256_N // 2
        if not canonical or not isinstance(key, ec.EllipticCurvePublicKey):
            raise InvalidSignature()
        key.verify(signature, signed, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, TypeError):
        raise _refuse("signature_invalid") from None


def parse_trust_bundle(data: str | bytes) -> TrustBundle:
    """Check and read a bundle made by :func:`build_bundle`; :class:`BadTrustBundle`
    (exit 6) for anything else, naming what was wrong."""
    if isinstance(data, str):
        data = data.encode("utf-8", errors="surrogateescape")
    if len(data) > MAX_BUNDLE_BYTES:
        raise _refuse("too_large")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _refuse("not_utf8") from None
    if "PRIVATE KEY" in text:
        raise _refuse("contains_private_key")
    text = text.replace("\r\n", "\n")
    blocks = _blocks(text)
    kinds = [kind for kind, _ in blocks]
    if _MANIFEST not in kinds or _SIGNATURE not in kinds:
        raise _refuse("unsigned" if _CERT in kinds else "empty")
    if kinds.count(_MANIFEST) != 1 or kinds.count(_SIGNATURE) != 1 or kinds.count(_REVOKED) != 1 \
            or not kinds or kinds[0] != _CERT:
        raise _refuse("bad_layout")
    body = {kind: lines for kind, lines in blocks if kind != _CERT}
    certificates = [_b64(lines, "certificate") for kind, lines in blocks if kind == _CERT]
    manifest_bytes = _b64(body[_MANIFEST], "manifest")
    signature = _b64(body[_SIGNATURE], "signature")
    try:
        root = x509.load_der_x509_certificate(certificates[0])
    except ValueError:
        raise _refuse("bad_certificate", "root") from None
    _verify_signature(root, SIGNED_PREFIX + manifest_bytes, signature)
    # From here on the manifest is the root's word; everything else must match it.
    try:
        manifest = json.loads(manifest_bytes.decode("utf-8"))
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or \
                _canonical(manifest) != manifest_bytes:
            raise ValueError("format")
        bundle = _read(manifest, certificates, root, body)
    except BadTrustBundle:
        raise
    except (ValueError, KeyError, TypeError, AttributeError, IndexError, UnicodeDecodeError):
        raise _refuse("bad_manifest") from None
    if _render(manifest, certificates, bundle.revoked, signature) != text:
        raise _refuse("edited")               # a comment line, a blank line, spacing: anything
    return bundle


def _read(manifest: dict, certificates: list[bytes], root: x509.Certificate, body: dict) -> TrustBundle:
    seals, root_entry, revocation = manifest["seals"], manifest["root"], manifest["revocation"]
    if _sha(certificates[0]) != root_entry["certificate_sha256"] or not _self_issued_ca(root):
        raise _refuse("certificate_mismatch", "root")
    if len(seals) != len(certificates) - 1:
        raise _refuse("certificate_mismatch", "count")
    keys: dict[str, tuple[SealInfo, ec.EllipticCurvePublicKey]] = {}
    qualifications: dict[str, frozenset] = {}
    ledgers: dict[str, LedgerRef] = {}
    leaves = []
    for seal, der in zip(seals, certificates[1:]):
        key_id = str(seal["key_id"])
        try:
            cert = x509.load_der_x509_certificate(der)
        except ValueError:
            raise _refuse("bad_certificate", key_id[:20]) from None
        if _sha(der) != seal["certificate_sha256"] or not _issued_by(cert, root):
            raise _refuse("certificate_mismatch", key_id[:20])
        public_key = cert.public_key()
        if not isinstance(public_key, ec.EllipticCurvePublicKey) or key_id_of(public_key) != key_id \
                or seal["status"] not in ("active", "rotated", "retired"):
            raise _refuse("bad_manifest", key_id[:20])
        info = info_from_cert(cert, str(seal["seal_id"]), seal["status"],
                              _instant(seal["compromised_at"], "compromised_at"),
                              _instant(seal["rotated_at"], "rotated_at"))
        keys[key_id] = (replace(info, name=str(seal["name"]) or info.name), public_key)
        qualifications[key_id] = frozenset(str(code) for code in seal["qualifications"])
        if seal["ledger"] is not None:
            ledgers[key_id] = LedgerRef(key_id, int(seal["ledger"]["count"]), str(seal["ledger"]["sha256"]))
        leaves.append(cert)
    block = _b64(body[_REVOKED], "revocation list")
    if not block.startswith(REVOCATION_MAGIC):
        raise _refuse("revocation_list_mismatch")
    revoked = block[len(REVOCATION_MAGIC):]
    width = REVOCATION_ENTRY_BYTES
    if _sha(revoked) != revocation["sha256"] or len(revoked) != width * int(revocation["count"]) or \
            any(revoked[i - width:i] >= revoked[i:i + width] for i in range(width, len(revoked), width)):
        raise _refuse("revocation_list_mismatch")
    return TrustBundle(roots=(root,), seal_certificates=tuple(leaves), keys=keys,
                       issued_at=_instant(manifest["issued_at"], "issued_at"),
                       next_update=_instant(manifest["next_update"], "next_update"),
                       qualifications=qualifications, ledgers=ledgers, revoked=revoked)


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
