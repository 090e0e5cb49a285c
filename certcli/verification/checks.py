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

from certcli import oracles, rules
from certcli.errors import KeyProblem
from certcli.verification.claims import decode_qr, seal_check, status_check, window_check
from certcli.verification.context import (MAX_PDF_BYTES, Context, Verdict,  # noqa: F401 - MAX_PDF_BYTES re-exported
                                          read_regular_file)
from certcli.verification.pdf import locate_signature, verify_pdf

QR_CHECKS = ("qr_signature", "seal_key", "issued", "certificate_status", "annotation_window")


# --- number + name -----------------------------------------------------------

def verify_lookup(context: Context, number: str, name: str, now: datetime, *, guesses=None) -> Verdict:
    """The public 证书查验.  A wrong name looks exactly like an unknown number (same
    query, same answer); nothing private (ID number, phone, account) is returned.

    Each lookup is a guess that costs what a login attempt costs (:mod:`certcli.oracles`):
    scrypt work, a fixed duration for hits and misses alike, misses audited
    (``lookup_miss``) and limited per name (an attacker who knows a name enumerates
    numbers) and per number; past the limit every lookup naming that key is
    ``rate_limited``.  ``guesses`` is the writable store that counts misses (default:
    the context's store, opened for writing for this lookup)."""
    if context.store is None:
        raise KeyProblem(reason="no_store")
    with oracles.paced():
        own = None
        if guesses is None:
            guesses = context.store if hasattr(context.store, "transaction") else None
        if guesses is None:
            from certcli.store import Store

            guesses = own = Store(context.store.path)
        try:
            return _lookup(context, guesses, number, name, now)
        finally:
            if own is not None:
                own.close()


def _lookup(context: Context, guesses, number: str, name: str, now: datetime) -> Verdict:
    verdict = Verdict("lookup", checked_at=now)
    number = unicodedata.normalize("NFC", (number or "").strip())
    name = unicodedata.normalize("NFC", (name or "").strip())

    def query():   # names compare as the roster stores them (rules.name_key: spacing, Latin case)
        found = context.store.one(
            "SELECT certificate_no, kind, name, qualification, level, issued_on, issuer, status FROM certificates "
            "WHERE certificate_no = ?", (number,))
        return found if found is not None and rules.name_key(found.pop("name")) == rules.name_key(name) else None

    row = None
    if number and name:   # nothing to guess without both
        row = oracles.guess(guesses, scope="lookup", keys=(oracles.name_key(name), oracles.number_key(number)),
                            now=now, query=query, hit=lambda found: found is not None, subject=number[:64],
                            details={"name": rules.mask_name(name)})
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
    from certcli.verification import issued

    context.require_trust()
    verdict = verdict or Verdict("qr", checked_at=now)
    issued.note_bundle(verdict, context, now)
    decoded = decode_qr(verdict, payload if isinstance(payload, str) else "", context)
    if decoded is None:
        return verdict.skip_rest(QR_CHECKS)
    claims, info, digest = decoded
    # exactly this payload, issued by the issuer (registry, or a closed key's ledger)?
    found = issued.lookup(context, "qr", digest, claims, info)
    seal_check(verdict, info, claims.valid_from, now, recorded=found.ok, evidence=found,
               vouched=issued.vouched(context, now))
    issued.scope_check(verdict, context, claims, info)
    issued.add_issued(verdict, found, info)
    status_check(verdict, context, claims.certificate_no, now)
    window_check(verdict, claims.valid_from, claims.valid_until, now)
    return verdict.skip_rest(QR_CHECKS)


# --- PDF (see certcli.verification.pdf) ---------------------------------------------

def verify_pdf_file(path: Path, context: Context, now: datetime) -> Verdict:
    """Read at most ``MAX_PDF_BYTES`` + 1 bytes: a larger file is refused unread.
    Only a regular file is read: a FIFO, a device or a directory is ``bad_input`` at once."""
    return verify_pdf(read_regular_file(path, "PATH", MAX_PDF_BYTES + 1), context, now)


def check_byte_range(data: bytes) -> tuple[bool, str]:
    """Structural check only (no cryptography): ``(True, "ok")`` or ``(False, reason)``."""
    found = locate_signature(data)
    return (True, "ok") if found.reason == "ok" else (False, found.reason)
