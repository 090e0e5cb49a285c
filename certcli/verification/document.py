"""The verify document: what ``certcli verify --json`` prints and what the public
verification API of ``certcli serve`` answers (SPEC §4, §6), built by one function
both call, so the two can never differ.

``{"valid", "kind", "reason", "verdict", "checked_at", "clock_overridden", "facts",
"checks"}``: see
:meth:`certcli.verification.context.Verdict.to_json`.  Facts that are instants
are datetimes here; JSON writers print them as ISO 8601.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Optional


def read_pdf(path: Path) -> bytes:
    """A PDF file to verify, read as ``verify PATH`` reads it locally (the remote client
    sends these bytes): at most ``MAX_PDF_BYTES`` + 1 bytes of a regular file; anything
    else is :class:`~certcli.errors.BadInput` naming it."""
    from certcli.verification.context import MAX_PDF_BYTES, read_regular_file

    return read_regular_file(path, "PATH", MAX_PDF_BYTES + 1)


def oversize_document(data: bytes, now: datetime, lang: str) -> Optional[dict]:
    """The verify document of a file over ``MAX_PDF_BYTES``, refused unread exactly as a local
    check refuses it (NOT VALID, ``too_large``; ``not_a_pdf`` when it is not even a PDF); None
    for a file within the cap.  The remote client answers it without sending the file (a server
    takes no body that big), so ``--server`` gives the same document and exit status."""
    from certcli import clock
    from certcli.verification.context import MAX_PDF_BYTES, PDF_CHECKS, Verdict, refused_unread

    if len(data) <= MAX_PDF_BYTES:
        return None
    verdict = Verdict("pdf", checked_at=now, clock_overridden=clock.overridden())
    verdict.add("pdf_structure", False, refused_unread(data))
    return verdict.skip_rest(PDF_CHECKS).to_json(lang)


def verify_document(home: Path, now: datetime, lang: str, *, trust: Optional[Path] = None,
                    pdf: Optional[bytes] = None, pdf_path: Optional[Path] = None, qr: Optional[str] = None,
                    number: Optional[str] = None, name: Optional[str] = None, ledgers: Optional[Path] = None,
                    max_bundle_age: Optional[timedelta] = None, store=None) -> dict:
    """Verify exactly one of a PDF (its bytes, or a file), a QR payload (bare, or the
    ``URL#PAYLOAD`` a verify URL's QR code carries), or a number + name,
    trusting the home's keys (or the bundle ``trust``, with its closed keys' ``ledgers``,
    refused as stale past ``max_bundle_age``) and reading current status from its store
    (``store``: one already open, which stays open; ``certcli serve`` passes its own)."""
    from certcli.verification import checks

    context = checks.Context.load(home, trust, ledgers, max_bundle_age, shared_store=store)
    try:
        if pdf_path is not None:
            pdf = read_pdf(pdf_path)
        if pdf is not None:
            verdict = checks.verify_pdf(pdf, context, now)
        elif qr is not None:   # the bare payload, or a scanned URL#PAYLOAD (a verify URL's QR code)
            from certcli.documents.qrpayload import payload_of

            verdict = checks.verify_qr(payload_of(qr), context, now)
        else:
            verdict = checks.verify_lookup(context, number or "", name or "", now)
    finally:
        if store is None:
            context.close()
    from certcli import clock

    verdict.checked_at, verdict.clock_overridden = now, clock.overridden()
    return verdict.to_json(lang)
