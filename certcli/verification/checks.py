"""Verification of a signed PDF, a QR payload, or a number + name (SPEC §4, §5).

Fail closed: a verdict is "valid" only when every check passed; a check that
cannot be made fails (or, after an earlier failure, is reported as skipped).
Every check has a stable name and every outcome a stable reason code; their
labels and plain-language explanations are in the i18n catalog, in Chinese and
English.

Trust comes from the home's keys or from a public trust bundle; the store,
when present, adds the certificate's current status.  The verdict and the
trust context are in :mod:`certcli.verification.context`, the checks a PDF and
a QR payload share in :mod:`certcli.verification.claims`, the PDF checks in
:mod:`certcli.verification.pdf` (its CMS stage in
:mod:`certcli.verification.cms`).  This module is the entry point and
re-exports what callers use.
"""
from __future__ import annotations

import unicodedata
from datetime import datetime
from pathlib import Path

from certcli import rules
from certcli.errors import BadInput, KeyProblem
from certcli.verification.claims import (MAX_WINDOW, ROTATION_GRACE, decode_qr,  # noqa: F401 - re-exported
                                         qualification_name, seal_check, status_check, window_check)
from certcli.verification.context import (MAX_PDF_BYTES, Check, Context, ReadOnlyStore,  # noqa: F401
                                          Verdict, cst_text)
from certcli.verification.pdf import locate_signature, verify_pdf

QR_CHECKS = ("qr_signature", "seal_key", "certificate_status", "annotation_window")


# --- number + name -----------------------------------------------------------

def verify_lookup(context: Context, number: str, name: str, now: datetime) -> Verdict:
    """The public 证书查验.  A wrong name looks exactly like an unknown number (same
    query, same answer); nothing private (ID number, phone, account) is returned."""
    verdict = Verdict("lookup")
    if context.store is None:
        raise KeyProblem(reason="no_store")
    number = unicodedata.normalize("NFC", (number or "").strip())
    name = unicodedata.normalize("NFC", (name or "").strip())
    row = context.store.one(
        "SELECT certificate_no, kind, qualification, level, issued_on, issuer, status FROM certificates "
        "WHERE certificate_no = ? AND name = ?", (number, name)) if number and name else None
    if row is None:
        verdict.add("lookup", False, "not_found")
        return verdict.skip_rest(("certificate_status",))
    verdict.facts.update({"certificate_no": row["certificate_no"], "name": rules.mask_name(name)})
    verdict.facts.update({k: row[k] for k in ("qualification", "level", "issued_on", "issuer", "status")})
    verdict.add("lookup", True)
    if row["status"] == "revoked":
        verdict.add("certificate_status", False, "certificate_revoked")
    else:
        verdict.add("certificate_status", True)
    if row["kind"] == "membership":
        _membership_lookup(verdict, context, number, name, now)
    return verdict


def _membership_lookup(verdict: Verdict, context: Context, number: str, name: str, now: datetime) -> None:
    """Membership e-certificates add their review and paper-certificate state
    (``certcli.membership.service.paper_member_status``)."""
    from certcli.membership.service import paper_member_status

    extra = paper_member_status(context.store, number, name, now)
    if extra:
        verdict.facts.update(extra["facts"])
        for check in extra["checks"]:
            verdict.add(*check)


# --- QR ------------------------------------------------------------------------

def verify_qr(payload: str, context: Context, now: datetime, verdict: Verdict | None = None) -> Verdict:
    """Offline: needs only the trust bundle.  The payload is taken exactly as given
    (no trimming), so any edited character makes it not valid."""
    context.require_trust()
    verdict = verdict or Verdict("qr")
    decoded = decode_qr(verdict, payload if isinstance(payload, str) else "", context)
    if decoded is None:
        return verdict.skip_rest(QR_CHECKS)
    claims, info = decoded
    seal_check(verdict, info, claims.valid_from, now)
    status_check(verdict, context, claims.certificate_no)
    window_check(verdict, claims.valid_from, claims.valid_until, now)
    return verdict


# --- PDF (see certcli.verification.pdf) ---------------------------------------------

def verify_pdf_file(path: Path, context: Context, now: datetime) -> Verdict:
    """Read at most ``MAX_PDF_BYTES`` + 1 bytes: a larger file is refused unread."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_PDF_BYTES + 1)
    except OSError as error:
        reason = error.strerror or "unreadable"
        raise BadInput(field="PATH", value=str(path), reason=reason) from None
    return verify_pdf(data, context, now)


def check_byte_range(data: bytes) -> tuple[bool, str]:
    """Structural check only (no cryptography): ``(True, "ok")`` or ``(False, reason)``."""
    found = locate_signature(data)
    return (True, "ok") if found.reason == "ok" else (False, found.reason)
