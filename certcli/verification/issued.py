"""Did the issuer issue exactly this document?  The ``issued`` check, and the
seal-scope part of ``seal_key`` (may this seal sign this qualification?).

A signature proves which key signed, not that the issuer meant it: a stolen seal
key (a copy of the issuer's home and passphrase) signs whatever it likes and
writes whatever signing time it likes.  So:

* **with the store** (online), the issued-document registry
  (:mod:`certcli.certificates.registry`) answers: the document's digest (a PDF's
  /ByteRange digest, a QR payload's signed-bytes digest) must be recorded, and
  the certificate number, name, qualification, seal and key must match the
  record and the certificate.  Anything else is NOT VALID (``not_issued``,
  ``document_mismatch``), whoever signed it;
* **offline, with a signed trust bundle**, a *closed* key (rotated, retired,
  expired) counts only for the documents in its ledger (beside the bundle, or
  ``--ledgers DIR``); a missing ledger file is NOT VALID, naming the file.  An
  active key's documents cannot be checked offline (only the issuer's registry
  knows them): the check says so and does not fail;
* the bundle (or the store) also says which seal may sign which qualification:
  another seal's key on it is ``seal_not_for_qualification``.

What the registry or a ledger says is also what keeps a document valid after its
seal certificate has ended (the chain model, :func:`certcli.rules.chain_standing`):
recorded, and signed while the certificate was in force.  After the ROOT has ended
too, a trust bundle counts only if the root signed it while in force
(:func:`vouched`); the issuer's own registry always does.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from certcli import catalog, rules
from certcli.verification.context import Context, Verdict, cst_text


@dataclass(frozen=True)
class Issued:
    """What the registry or the ledger says: ``ok`` True (recorded, and for a retired
    key before its compromise), False (not recorded, or not this document), None (cannot tell here)."""

    ok: bool | None
    reason: str = "ok"
    detail: str = ""
    signed_at: datetime | None = None   # when the issuer signed it, as its registry recorded (online only)


def registry_ready(context: Context) -> bool:
    """Every stored document is in the registry (a store from before it: not until its backfill)."""
    if "registry_ready" not in context._cache:
        import sqlite3

        from certcli.store import REGISTRY_READY_KEY

        try:
            row = context.store.one("SELECT value FROM meta WHERE key = ?", (REGISTRY_READY_KEY,))
        except sqlite3.OperationalError:      # a read-only SQLite store not migrated yet: no registry at all
            # (a PostgreSQL store is migrated when it is opened)
            row = None
        context._cache["registry_ready"] = row is not None and row["value"] == "complete"
    return context._cache["registry_ready"]


def lookup(context: Context, form: str, digest: str, claims, info) -> Issued:
    """``form`` is ``pdf`` or ``qr``; ``digest`` the document's signed digest (hex)."""
    if context.store is not None:
        return _registry(context, form, digest, claims, info)
    if context.bundle is not None:
        return _ledger(context, digest, info)
    return Issued(None, "no_store")


def _registry(context: Context, form: str, digest: str, claims, info) -> Issued:
    store = context.store
    if not registry_ready(context):
        return Issued(False, "registry_not_ready")
    row = store.one("SELECT form, document_no, certificate_no, name, qualification, seal_id, key_id, signed_at "
                    "FROM issued_documents WHERE digest = ?", (digest,))
    if row is None:
        return Issued(False, "not_issued", info.key_id)
    certificate = store.one("SELECT name, qualification, seal_id FROM certificates WHERE certificate_no = ?",
                            (row["certificate_no"],))
    problem = _mismatch(row, certificate, form, claims, info)
    if problem:
        return Issued(False, "document_mismatch", problem)
    if info.retired_at is not None and datetime.fromisoformat(row["signed_at"]) >= info.retired_at:
        return Issued(False, "seal_compromised", f"{info.key_id} {cst_text(info.retired_at)}")
    return Issued(True, "ok", row["document_no"] or "", datetime.fromisoformat(row["signed_at"]))


def _mismatch(row: dict, certificate: dict | None, form: str, claims, info) -> str:
    """The first thing that differs between the document, its record and its certificate."""
    if row["form"] != form:
        return "form"
    if certificate is None or row["certificate_no"] != claims.certificate_no:
        return "certificate_no"
    if certificate["name"] != row["name"] or rules.mask_name(row["name"]) != claims.masked_name:
        return "name"
    if certificate["qualification"] != row["qualification"] or \
            catalog.qualification_code(row["qualification"]) != claims.qualification_code:
        return "qualification"
    if certificate["seal_id"] != row["seal_id"] or (info.seal_id and info.seal_id != row["seal_id"]):
        return "seal"
    if row["key_id"] != info.key_id or claims.key_id != info.key_id:
        return "key"
    return ""


def _ledger(context: Context, digest: str, info) -> Issued:
    from certcli.pki.ledgers import (LEDGER_ENTRY_BYTES, LedgerUnavailable, ledger_entry, load_ledger,
                                     sorted_contains)

    reference = context.bundle.ledgers.get(info.key_id)
    if reference is None:
        return Issued(None, "registry_offline")
    key = ("ledger", info.key_id)
    if key not in context._cache:
        try:
            context._cache[key] = load_ledger(reference, context.ledger_dir)
        except LedgerUnavailable as problem:
            context._cache[key] = problem
    table = context._cache[key]
    if isinstance(table, LedgerUnavailable):
        return Issued(False, table.reason, table.path)
    if sorted_contains(table, ledger_entry(digest), LEDGER_ENTRY_BYTES):
        return Issued(True, "in_ledger", f"{info.key_id} ({reference.count})")
    return Issued(False, "not_in_ledger", info.key_id)


def add_issued(verdict: Verdict, found: Issued, info) -> None:
    """The ``issued`` check; a retired key's unrecorded document also fails ``seal_key``
    (its signing time is whatever the key holder wrote)."""
    verdict.add("issued", found.ok, found.reason, found.detail)
    seal_key = verdict.get("seal_key")
    if found.ok is False and info.retired_at is not None and seal_key is not None and seal_key.ok:
        seal_key.ok, seal_key.reason = False, "seal_compromised"
        seal_key.detail = f"{info.key_id} (not issued before {cst_text(info.retired_at)})"


def scope_check(verdict: Verdict, context: Context, claims, info) -> None:
    """May this seal sign this qualification?  With the store: the seal of the
    certificate the document names; offline: the bundle's list for the key.
    Fails ``seal_key`` with ``seal_not_for_qualification``."""
    check = verdict.get("seal_key")
    if check is None or not check.ok:
        return
    wrong = False
    if context.store is not None:
        row = context.store.one("SELECT seal_id FROM certificates WHERE certificate_no = ?", (claims.certificate_no,))
        wrong = row is not None and bool(info.seal_id) and row["seal_id"] != info.seal_id
    elif context.bundle is not None:
        wrong = not context.bundle.may_sign(info.key_id, claims.qualification_code)
    if wrong:
        check.ok, check.reason = False, "seal_not_for_qualification"
        check.detail = f"{info.seal_id or info.key_id}: {claims.qualification_code}"


def vouched(context: Context, now: datetime) -> bool:
    """Can what the verdict rests on still vouch for documents signed before the root ended?
    The issuer's store (its registry) can; a trust bundle only if its root signed it while in
    force (:func:`certcli.rules.root_vouches`)."""
    if context.store is not None or context.bundle is None or context.root is None:
        return True
    return rules.root_vouches(context.root.not_valid_after_utc, now, context.bundle.issued_at)


def note_bundle(verdict: Verdict, context: Context, now: datetime) -> None:
    """Say which bundle the verdict rests on (``bundle_issued_at``), and warn when it is
    past its ``next_update``."""
    bundle = context.bundle
    if bundle is None:
        return
    verdict.bundle_issued_at, verdict.bundle_next_update = bundle.issued_at, bundle.next_update
    if bundle.next_update is not None and now >= bundle.next_update:
        verdict.warnings.append(("bundle_past_next_update", {"next_update": cst_text(bundle.next_update),
                                                             "issued_at": cst_text(bundle.issued_at)}))


def bundle_status(verdict: Verdict, context: Context, number: str, now: datetime) -> None:
    """``certificate_status`` from the bundle's revocation list, as of its ``issued_at``."""
    bundle = context.bundle
    as_of = cst_text(bundle.issued_at)
    if bundle.is_revoked(number):
        verdict.add("certificate_status", False, "certificate_revoked", as_of)
    elif is_stale(context, now):
        verdict.add("certificate_status", False, "bundle_stale", as_of)
    else:
        verdict.status_as_of = bundle.issued_at
        verdict.add("certificate_status", True, "not_revoked_as_of", as_of)


def is_stale(context: Context, now: datetime) -> bool:
    bundle = context.bundle
    return bool(bundle is not None and context.max_bundle_age is not None and bundle.issued_at is not None
                and now - bundle.issued_at > context.max_bundle_age)
