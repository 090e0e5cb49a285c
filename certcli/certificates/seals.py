"""Seal keys over their life, as the issuer runs them: a seal for every issuing
association a roster names, rotation, and retirement after a compromise (with
the audit entry and the re-queueing of what the retired key signed).

Commands call these; the keys themselves live in :mod:`certcli.pki.keys` and
the store is optional (a home may hold keys before its first import).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from certcli import audit, rules
from certcli.errors import KeyProblem, NotFound, RootExpired

MINISTRY = "ministry"


def ensure_roster_seals(keys, seals: dict[str, str], passphrase: bytes, now: datetime) -> None:
    """R7: every association named in an imported roster signs with its own seal key."""
    from certcli.documents.page import seal_display_name

    for seal_id, issuer in seals.items():
        if seal_id != MINISTRY:
            keys.ensure_seal(seal_id, seal_display_name("association", issuer), passphrase, now)


@dataclass
class Rotation:
    seal_id: str
    old_key_id: str
    new_key_id: str
    ledger: dict | None = None      # the old key's ledger: {"count", "sha256"} (with a store)


def rotate_seal(keys, open_store: Callable | None, seal_id: str, passphrase: bytes, now: datetime,
                *, why: str | None = None) -> Rotation:
    """A new key for ``seal_id``; the old one stays in the bundle as ``rotated``.
    ``why`` (e.g. ``expiring``) goes into the audit entry when the issuer did not ask."""
    old = keys.active_seal(seal_id)
    new = keys.rotate_seal(seal_id, passphrase, now)
    ledger = None
    if open_store is not None:
        store = open_store()
        ledger = close_ledger(store, old.key_id, None, now)
        audit.record(store, now=now, actor="admin", action="rotate_seal", subject=seal_id,
                     old_key_id=old.key_id, new_key_id=new.key_id, ledger=ledger, **({"why": why} if why else {}))
    return Rotation(seal_id, old.key_id, new.key_id, ledger)


def close_ledger(store, key_id: str, before: datetime | None, now: datetime) -> dict:
    """What a key that stops signing legitimately signed (before ``before``, its compromise):
    the commitment to its ledger, ``{"count", "sha256"}``, recorded in the audit log.  One
    indexed walk of the issued-document registry; no PDF is parsed (a store from before
    the registry is backfilled once first).  ``admin trust`` publishes the same ledger."""
    from certcli.certificates import registry

    registry.ensure_backfilled(store, now)
    ledger = registry.ledger(store, key_id, before)
    return {"count": ledger.count, "sha256": ledger.sha256}


def renew_for_signing(keys, open_store: Callable | None, seal_ids, passphrase: bytes, now: datetime) -> list[dict]:
    """Before ``admin process`` signs anything: every seal in ``seal_ids`` (those with
    pending work) must have an active key whose certificate may sign at ``now``
    (:func:`certcli.rules.signing_problem`: in force, and for ``rules.SIGNING_MARGIN``
    more, the longest annotation window: the key's list of documents is then final that
    long before the certificate ends, and a bundle exported in that margin carries its
    ledger, so what it signed outlives it; :func:`certcli.rules.chain_standing`).  A seal
    whose certificate ends too soon is rotated
    first (audited ``rotate_seal`` with ``why: expiring``); what was rotated is returned,
    for the administrator.  Nothing is signed, and nothing rotated, when the root
    cannot certify a key that may sign (:class:`RootExpired`) or the clock is before
    a certificate's start (``key_problem``: a clock set back must not retire good keys)."""
    root = keys.root_certificate()
    actives = []
    for seal_id in sorted(set(seal_ids)):
        try:
            actives.append(keys.active_seal(seal_id))
        except NotFound:
            continue          # its requests fail with not_found, as before
    # a seal certificate never outlives the root: a root that may not sign leaves no seal that may
    root_problem = rules.signing_problem(root.not_valid_before_utc, root.not_valid_after_utc, now) if actives else None
    if root_problem == "not_yet_valid":
        raise KeyProblem(reason="root_not_yet_valid")
    if root_problem is not None:
        raise RootExpired(not_after=root.not_valid_after_utc.astimezone(rules.CST),
                          margin_days=rules.SIGNING_MARGIN.days)
    problems = [(info, rules.signing_problem(info.not_before, info.not_after, now)) for info in actives]
    early = next((info for info, problem in problems if problem == "not_yet_valid"), None)
    if early is not None:     # checked for every seal before any is rotated
        raise KeyProblem(reason="seal_not_yet_valid")
    renewals = []
    for info, problem in problems:
        if problem is None:
            continue
        rotation = rotate_seal(keys, open_store, info.seal_id, passphrase, now, why="expiring")
        new = keys.active_seal(info.seal_id)
        renewals.append({"seal_id": info.seal_id, "old_key_id": rotation.old_key_id, "not_after": info.not_after,
                         "new_key_id": rotation.new_key_id, "new_not_after": new.not_after})
    return renewals


@dataclass
class Retirement:
    key_id: str
    seal_id: str
    retired_at: datetime
    rotated_to: str | None
    requeued: dict = field(default_factory=lambda: {"annotations": [], "member_documents": []})
    ledger: dict | None = None      # what stays valid: its ledger, {"count", "sha256"} (with a store)


def retire_seal(keys, open_store: Callable | None, key_id: str, compromised_at: datetime, passphrase: bytes,
                now: datetime) -> Retirement:
    """Retire a compromised key: rotate its seal first if it is the active key (so
    issuing goes on), record it, and put back to pending every still-usable request
    whose document the key signed from ``compromised_at`` on."""
    from certcli.certificates.requeue import requeue_signed_by

    key_id = key_id.strip().lower()
    entry = next((s for s in keys.seals() if s.key_id == key_id), None)
    if entry is None:
        raise NotFound(what="seal_key", value=key_id)
    new = keys.rotate_seal(entry.seal_id, passphrase, now) if entry.status == "active" else None
    retired = keys.retire_seal(key_id, compromised_at, passphrase)
    result = Retirement(key_id, retired.seal_id, retired.retired_at, new.key_id if new else None)
    if open_store is not None:
        store = open_store()
        result.ledger = close_ledger(store, key_id, compromised_at, now)
        audit.record(store, now=now, actor="admin", action="retire_seal", subject=key_id,
                     compromised_at=compromised_at, rotated_to=result.rotated_to, ledger=result.ledger)
        result.requeued = requeue_signed_by(store, key_id, compromised_at, now)
    return result
