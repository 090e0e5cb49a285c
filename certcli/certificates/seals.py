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

from certcli import audit
from certcli.errors import NotFound

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


def rotate_seal(keys, open_store: Callable | None, seal_id: str, passphrase: bytes, now: datetime) -> Rotation:
    """A new key for ``seal_id``; the old one stays in the bundle as ``rotated``."""
    old = keys.active_seal(seal_id)
    new = keys.rotate_seal(seal_id, passphrase, now)
    if open_store is not None:
        audit.record(open_store(), now=now, actor="admin", action="rotate_seal", subject=seal_id,
                     old_key_id=old.key_id, new_key_id=new.key_id)
    return Rotation(seal_id, old.key_id, new.key_id)


@dataclass
class Retirement:
    key_id: str
    seal_id: str
    retired_at: datetime
    rotated_to: str | None
    requeued: dict = field(default_factory=lambda: {"annotations": [], "member_documents": []})


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
        audit.record(store, now=now, actor="admin", action="retire_seal", subject=key_id,
                     compromised_at=compromised_at, rotated_to=result.rotated_to)
        result.requeued = requeue_signed_by(store, key_id, compromised_at, now)
    return result
