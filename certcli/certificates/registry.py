"""The issued-document registry: exactly what the issuer's seal keys signed.

Every document ``admin process`` completes is recorded here, in the same
transaction that completes its request, as two rows of ``issued_documents``:

* the PDF, under its *signed digest*: SHA-256 over its /ByteRange, i.e. the CMS
  messageDigest (:func:`certcli.documents.cms.signed_digest`), never the whole
  file's hash, which changes when the unsigned /Contents is re-encoded;
* its QR payload, under the SHA-256 of the payload's signed bytes
  (:func:`certcli.documents.qrpayload.signed_digest`);

each with the document number, the certificate number, the holder's name, the
qualification, the seal and the key that signed it, and the signing time.  With
the store, verification accepts a document only when its digest is here and
every one of those matches the document and the certificate
(:mod:`certcli.verification.issued`): a well-signed document the issuer never
recorded (a stolen key, a copy of the issuer's home) is NOT VALID.

A closed key's *ledger* (rotated, retired, expired: :mod:`certcli.pki.ledgers`)
is one indexed walk of ``idx_issued_documents_key`` in digest order: no PDF is
parsed, so closing it at ``admin rotate-seal`` stays cheap.

Stores made before the registry existed are backfilled once, idempotently, from
the stored PDFs (their /ByteRange digest and their ``/CertcliQR``), when
``admin process``, ``admin trust``, ``rotate-seal`` or ``retire-seal`` runs
(:func:`ensure_backfilled`); until then verification says the registry is not
ready instead of guessing.
"""
from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Iterator

from certcli import audit
from certcli.store import REGISTRY_READY_KEY, Store, iso, iterate

BACKFILL_BATCH = 200
# request table -> the column holding its document number
DOCUMENT_NUMBERS = {"annotations": "annotation_no", "member_documents": "document_no"}
_PAYLOAD_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")   # base32, after "CC1:"


@dataclass(frozen=True)
class Ledger:
    """A key's ledger: the sorted 16-byte entries, their count and the file's SHA-256."""

    key_id: str
    entries: bytes
    count: int
    sha256: str


# --- what a PDF is, for the registry ------------------------------------------------------

def pdf_facts(pdf: bytes) -> tuple[str, str | None] | None:
    """``(signed digest, QR payload or None)`` of a signed PDF made by certcli, or None
    when it has no readable signature.  No validation: only for the issuer's own files."""
    from certcli.documents.cms import signed_digest
    from certcli.verification.pdf import locate_signature

    found = locate_signature(pdf)
    if found.check:
        return None
    return signed_digest(pdf, found.b, found.c, found.d), _payload(pdf, found)


def _payload(pdf: bytes, found) -> str | None:
    """``/CertcliQR`` of the signed revision's document information: read from the raw
    bytes (a literal string of base32 characters, ``:`` possibly written ``\\072``),
    else, for a file written otherwise, parsed (~12 ms instead of ~0.05)."""
    at = pdf.rfind(b"/CertcliQR")
    if at >= 0:
        start = at + len(b"/CertcliQR")
        while start < len(pdf) and pdf[start] in b" \r\n\t":
            start += 1
        end = pdf.find(b")", start, start + 4096)
        if pdf[start:start + 1] == b"(" and end > start:
            value = _unescape(pdf[start + 1:end])
            if value is not None and value.startswith(b"CC1:") and all(c in _PAYLOAD_CHARS for c in value[4:]):
                return value.decode("ascii")
    try:
        from certcli.verification.pdf import document_stage

        return document_stage(pdf, found)["payload"]
    except Exception:  # noqa: BLE001 - an unreadable old file is reported as not recorded
        return None


def _unescape(raw: bytes) -> bytes | None:
    """A PDF literal string's octal escapes (``\\ddd``) undone; None for any other escape
    (never in a payload: the parser fallback handles such a file)."""
    if b"\\" not in raw:
        return raw
    raw = raw.replace(b"\\072", b":")                        # what pyHanko writes for the colon
    if b"\\" not in raw:
        return raw
    out, i = bytearray(), 0
    while i < len(raw):
        if raw[i] != 0x5C:                                  # backslash
            out.append(raw[i])
            i += 1
            continue
        digits = raw[i + 1:i + 4]
        if len(digits) != 3 or not all(0x30 <= c <= 0x37 for c in digits):
            return None
        out.append(int(digits, 8) & 0xFF)
        i += 4
    return bytes(out)


# --- writing ----------------------------------------------------------------------------------

def record(conn, pdf: bytes, *, document_no: str | None, signed_at: str,
           document_sha256: str | None, facts: tuple | None = None) -> int:
    """Record one signed document (its PDF and its QR payload); returns the rows added
    (0 when already recorded, or when ``pdf`` carries no certcli signature and payload).
    ``facts``: :func:`pdf_facts` of ``pdf`` when the caller has them already."""
    from certcli.documents import qrpayload

    facts = facts if facts is not None else pdf_facts(pdf)
    if facts is None or facts[1] is None:
        return 0
    digest, payload = facts
    try:
        claims = qrpayload.unverified_claims(payload)
        qr_digest = qrpayload.signed_digest(payload)
    except Exception:  # noqa: BLE001 - not our payload: nothing to record
        return 0
    row = conn.execute("SELECT name, qualification, seal_id FROM certificates WHERE certificate_no = ?",
                       (claims.certificate_no,)).fetchone()
    if row is None:
        return 0
    name, qualification, seal_id = row
    added = 0
    for form, key in (("pdf", digest), ("qr", qr_digest)):
        added += conn.execute(
            "INSERT INTO issued_documents (digest, form, document_no, certificate_no, name, qualification, "
            "seal_id, key_id, signed_at, document_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (key, form, document_no, claims.certificate_no, name, qualification, seal_id, claims.key_id, signed_at,
             document_sha256)).rowcount
    return added


def record_completed(conn, table: str, request_id: int, pdf: bytes, now: datetime,
                     document_sha256: str, facts: tuple | None = None) -> int:
    """The registry rows of a request ``admin process`` just completed (same transaction)."""
    column = DOCUMENT_NUMBERS[table]
    number = conn.execute(f"SELECT {column} FROM {table} WHERE id = ?", (request_id,)).fetchone()
    return record(conn, pdf, document_no=number[0] if number else None, signed_at=iso(now),
                  document_sha256=document_sha256, facts=facts)


def is_ready(store) -> bool:
    """Every stored document is in the registry (read-only stores too)."""
    try:
        row = store.conn.execute("SELECT value FROM meta WHERE key = ?", (REGISTRY_READY_KEY,)).fetchone()
    except sqlite3.OperationalError:   # a read-only SQLite store from before the registry (PostgreSQL: migrated)
        return False
    return row is not None and row[0] == "complete"


def ensure_backfilled(store: Store, now: datetime | None = None) -> int:
    """Record every stored document not in the registry yet (stores made before it
    existed), then mark the registry complete.  Idempotent and resumable: each batch
    is one transaction, and a re-run skips what is recorded.  Returns the documents added."""
    if is_ready(store):
        return 0
    added = 0
    for table, column in DOCUMENT_NUMBERS.items():      # documents a request points at: with their number
        last = 0
        while True:
            rows = store.conn.execute(
                f"SELECT r.id, r.{column}, r.document_sha256, d.pdf, d.created_at FROM {table} r "
                "JOIN documents d ON d.sha256 = r.document_sha256 WHERE r.id > ? ORDER BY r.id LIMIT ?",
                (last, BACKFILL_BATCH)).fetchall()
            if not rows:
                break
            last = rows[-1][0]
            added += _record_batch(store, [(number, sha, pdf, created) for _, number, sha, pdf, created in rows])
    last_sha = ""
    while True:                                       # and any other stored document (re-queued ones)
        rows = store.conn.execute(
            "SELECT sha256, pdf, created_at FROM documents d WHERE sha256 > ? AND NOT EXISTS "
            "(SELECT 1 FROM issued_documents i WHERE i.document_sha256 = d.sha256) ORDER BY sha256 LIMIT ?",
            (last_sha, BACKFILL_BATCH)).fetchall()
        if not rows:
            break
        last_sha = rows[-1][0]
        added += _record_batch(store, [(None, sha, pdf, created) for sha, pdf, created in rows])
    with store.transaction() as conn:
        conn.execute("INSERT INTO meta (key, value) VALUES (?, 'complete') "
                     "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (REGISTRY_READY_KEY,))
        if now is not None:
            audit.append(conn, now=now, actor="admin", action="registry_backfill", subject="issued_documents",
                         documents=added)
    return added


def _record_batch(store: Store, rows: list[tuple]) -> int:
    added = 0
    with store.transaction() as conn:
        for number, sha, pdf, created in rows:
            if conn.execute("SELECT 1 FROM issued_documents WHERE document_sha256 = ? LIMIT 1", (sha,)).fetchone():
                continue
            added += 1 if record(conn, pdf, document_no=number, signed_at=created, document_sha256=sha) else 0
    return added


# --- reading ----------------------------------------------------------------------------------

def find(store, digest: str) -> dict | None:
    """The registry row of a digest (hex), or None."""
    return store.one("SELECT digest, form, document_no, certificate_no, name, qualification, seal_id, key_id, "
                     "signed_at, document_sha256 FROM issued_documents WHERE digest = ?", (digest,))


def digests_signed_by(store, key_id: str, before: datetime | None = None) -> Iterator[str]:
    """Every digest ``key_id`` signed for the issuer (before ``before``, when given), in
    digest order: one walk of ``idx_issued_documents_key``, no PDF parsed."""
    if before is None:
        cursor = iterate(store.conn, "SELECT digest FROM issued_documents WHERE key_id = ? ORDER BY digest",
                         (key_id,))
    else:
        cursor = iterate(store.conn, "SELECT digest FROM issued_documents WHERE key_id = ? AND signed_at < ? "
                                     "ORDER BY digest", (key_id, iso(before)))
    for (digest,) in cursor:
        yield digest


def ledger(store, key_id: str, before: datetime | None = None) -> Ledger:
    """The ledger of ``key_id``: sorted, distinct 16-byte digest prefixes."""
    from certcli.pki.ledgers import ledger_entry

    entries, previous = [], b""
    for digest in digests_signed_by(store, key_id, before):
        entry = ledger_entry(digest)
        if entry != previous:
            entries.append(entry)
            previous = entry
    data = b"".join(entries)
    return Ledger(key_id, data, len(entries), hashlib.sha256(data).hexdigest())
