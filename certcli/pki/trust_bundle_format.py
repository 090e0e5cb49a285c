"""The trust bundle's text layout (what the parts mean: :mod:`certcli.pki.trust_bundle`).

One PEM-style text file made of, in this order::

    # comment lines (rendered from the manifest: for people, never read back)
    -----BEGIN CERTIFICATE-----             the issuer root (CA, self-signed)
    -----BEGIN CERTIFICATE-----             every seal certificate, any status
    -----BEGIN CERTCLI REVOCATION LIST----- "CCR1" + sorted 8-byte entries, base64
    -----BEGIN CERTCLI TRUST MANIFEST-----  canonical JSON (UTF-8, sorted keys, no spaces), base64
    -----BEGIN CERTCLI TRUST SIGNATURE----- ECDSA P-256/SHA-256 (DER, low-S) by the root
                                            over ``SIGNED_PREFIX + manifest``

The whole file is rendered from what the signature authenticates, so a reader
re-renders it and requires the same text byte for byte (CRLF line ends aside): a
deleted or edited comment line fails the re-rendering.  A file is split into its
blocks in one pass over its lines (``str.split``, no regular expression): a hostile
file (repeated BEGIN lines, no END) fails at its second line.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json

from certcli.errors import BadTrustBundle
from certcli.pki.ledgers import ledger_file_name

FORMAT = "certcli-trust-bundle/2"
SIGNED_PREFIX = b"certcli trust manifest v2\n"
MAX_CERTIFICATES = 1024
REVOCATION_MAGIC = b"CCR1"          # the revocation block: this, then the sorted entries
CERTIFICATE, REVOCATION_LIST, MANIFEST, SIGNATURE = ("CERTIFICATE", "CERTCLI REVOCATION LIST",
                                                     "CERTCLI TRUST MANIFEST", "CERTCLI TRUST SIGNATURE")
_BLOCKS = (CERTIFICATE, REVOCATION_LIST, MANIFEST, SIGNATURE)


def refusal(reason: str, detail: str | None = None) -> BadTrustBundle:
    """The error (exit 6) for a bundle refused for ``reason`` (a ``bundle_*`` code)."""
    return BadTrustBundle(reason="bundle_" + reason, detail=detail)


def canonical_json(manifest: dict) -> bytes:
    return json.dumps(manifest, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- writing

def _pem_lines(kind: str, der: bytes) -> list[str]:
    text = base64.b64encode(der).decode("ascii")
    return [f"-----BEGIN {kind}-----", *(text[i:i + 64] for i in range(0, len(text), 64)),
            f"-----END {kind}-----"]


def _one_line(value) -> str:
    return " ".join(str(value).split())


def _seal_comments(seal: dict) -> list[str]:
    """The comment lines before a seal certificate: its manifest entry, for people."""
    lines = [f"# seal_id: {seal['seal_id']}", f"# name: {_one_line(seal['name'])}",
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
    return lines


def render_bundle(manifest: dict, certificates: list[bytes], revoked: bytes, signature: bytes) -> str:
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
             *_pem_lines(CERTIFICATE, certificates[0])]
    for seal, der in zip(manifest["seals"], certificates[1:]):
        lines += _seal_comments(seal) + _pem_lines(CERTIFICATE, der)
    lines += _pem_lines(REVOCATION_LIST, REVOCATION_MAGIC + revoked)   # never an empty block: PEM tools choke on one
    lines += _pem_lines(MANIFEST, canonical_json(manifest))
    lines += _pem_lines(SIGNATURE, signature)
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- reading

def split_blocks(text: str) -> list[tuple[str, list[str]]]:
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
                    raise refusal("unexpected_block", f"line {number}: {kind[:40]}")
                current = []
            elif line.strip() and not line.startswith("#"):
                raise refusal("unexpected_line", f"line {number}")
        elif line == f"-----END {kind}-----":
            blocks.append((kind, current))
            current = None
            if len(blocks) > MAX_CERTIFICATES + 3:
                raise refusal("too_many_blocks")
        elif line.startswith("-----"):
            raise refusal("unterminated_block", f"line {number}")
        else:
            current.append(line)
    if current is not None:
        raise refusal("unterminated_block", "end of file")
    return blocks


def decode_block(lines: list[str], what: str) -> bytes:
    """A block's body lines as the bytes they encode (strict base64)."""
    try:
        return base64.b64decode("".join(lines), validate=True)
    except (binascii.Error, ValueError):
        raise refusal("bad_encoding", what) from None
