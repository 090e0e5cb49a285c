"""After a seal key is retired: re-queue what it signed from the compromise on.

Those documents no longer verify (``seal_compromised``), yet the holders'
annotations are still inside their windows: they are owed a valid copy.  Each
such request goes back to pending, ``admin process`` signs it again with the
seal's new key, and until then the holder's download says "generating…"
instead of handing out a file every verifier refuses.

A document's signing time is its request's completion time (processing signs
and completes with the same ``now``); which key signed it comes from the
issued-document registry (:mod:`certcli.certificates.registry`), or, in a store
whose registry is not complete yet, from the signature itself.
"""
from __future__ import annotations

from datetime import datetime

from certcli import audit
from certcli.documents import cms
from certcli.store import Store, iso
from certcli.verification.pdf import locate_signature


def signer_key_id(pdf: bytes) -> str | None:
    """The key id of the certificate that signed ``pdf``, or None if it has no
    readable signature.  No validation: only for documents this store made.
    The CMS is read at its exact DER length (:func:`certcli.documents.cms.cms_der`),
    as verification reads it: a DER ending in 0x00 is not cut short."""
    found = locate_signature(pdf)
    return None if found.check else cms.signer_key_id(found.contents)


def requeue_signed_by(store: Store, key_id: str, compromised_at: datetime, now: datetime) -> dict:
    """Put back to pending every still-usable request whose document ``key_id``
    signed at or after ``compromised_at``.  Returns the numbers re-queued."""
    from certcli.certificates import registry

    since = iso(compromised_at)
    signers: dict[str, str | None] = {}  # documents are content-addressed: read each once
    by_registry = registry.is_ready(store)   # which key signed what, without parsing a PDF

    def signed_by_key(sha256: str) -> bool:
        if sha256 not in signers:
            if by_registry:
                row = conn.execute("SELECT key_id FROM issued_documents WHERE document_sha256 = ? AND form = 'pdf'",
                                   (sha256,)).fetchone()
                signers[sha256] = row[0] if row else None
            else:
                row = conn.execute("SELECT pdf FROM documents WHERE sha256 = ?", (sha256,)).fetchone()
                signers[sha256] = signer_key_id(row[0]) if row else None
        return signers[sha256] == key_id

    requeued: dict[str, list[str]] = {"annotations": [], "member_documents": []}
    with store.transaction() as conn:
        for table, number, window in (("annotations", "annotation_no", "AND (valid_until IS NULL OR valid_until > ?)"),
                                      ("member_documents", "document_no", "")):
            rows = conn.execute(
                f"SELECT id, {number}, document_sha256 FROM {table} WHERE status = 'completed' "
                f"AND completed_at >= ? {window} ORDER BY id", (since, iso(now)) if window else (since,)).fetchall()
            for row_id, row_number, sha256 in rows:
                if sha256 and signed_by_key(sha256):
                    conn.execute(f"UPDATE {table} SET status = 'pending', completed_at = NULL, "
                                 f"document_sha256 = NULL WHERE id = ?", (row_id,))
                    requeued[table].append(row_number)
        if requeued["annotations"] or requeued["member_documents"]:
            audit.append(conn, now=now, actor="admin", action="requeue_after_retirement", subject=key_id,
                         compromised_at=since, **requeued)
    return requeued
