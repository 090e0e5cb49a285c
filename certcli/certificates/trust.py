"""``admin trust``: the signed trust bundle (:mod:`certcli.pki.trust_bundle`) from the
issuer's keys and store, and the ledgers of its closed keys.

What the store adds to the keys: which qualifications each seal may sign (those of
the certificates issued under it; one index seek per qualification), the
revocation list (from the ``revocations`` table, not a scan of every certificate)
and, for every closed key (rotated, retired, or its certificate ended or ending: `is_closed`), its ledger
from the issued-document registry (:func:`certcli.certificates.registry.ledger`:
what it signed while its certificate was in force, and for a retired key only before
its compromise).  An ended root signs no bundle: verifiers keep the last one it signed.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from certcli import catalog, rules
from certcli.certificates import registry
from certcli.errors import BadInput, BundleTooLarge, KeyProblem

DEFAULT_VALID_DAYS = 7
MAX_VALID_DAYS = 366


@dataclass
class Published:
    text: str
    issued_at: datetime
    next_update: datetime
    seals: list = field(default_factory=list)              # SealInfo, as in the bundle
    ledgers: list[registry.Ledger] = field(default_factory=list)
    revoked: int = 0

    def ledger_files(self) -> dict[str, bytes]:
        from certcli.pki.ledgers import ledger_file_name

        return {ledger_file_name(ledger.key_id): ledger.entries for ledger in self.ledgers}


def is_closed(info, now: datetime) -> bool:
    """A key that signs no more: rotated, retired, or its certificate ended or ending within
    ``rules.SIGNING_MARGIN`` (``admin process`` never signs with it then, so what it signed
    is final).  Its ledger keeps its documents valid offline after the certificate ends (the
    chain model): a bundle exported in the margin, before the root itself ends, carries it."""
    return info.status in ("rotated", "retired") or \
        rules.signing_problem(info.not_before, info.not_after, now) == "expiring"


def ledger_bound(info) -> datetime:
    """What a closed key's ledger holds: what it signed before its certificate ended, and
    before its compromise for a retired key."""
    return info.not_after if info.retired_at is None else min(info.retired_at, info.not_after)


def qualification_codes(store, seal_id: str) -> list[str]:
    """Codes of the qualifications certificates were issued for under ``seal_id`` (a loose
    index scan of ``idx_certificates_seal``: one seek per distinct qualification)."""
    names, last = [], ""
    while True:
        row = store.conn.execute("SELECT MIN(qualification) FROM certificates WHERE seal_id = ? AND qualification > ?",
                                 (seal_id, last)).fetchone()
        if row is None or row[0] is None:
            return sorted({catalog.qualification_code(name) for name in names})
        names.append(row[0])
        last = row[0]


def revoked_numbers(store) -> list[str]:
    return [row[0] for row in store.conn.execute(
        "SELECT DISTINCT c.certificate_no FROM revocations r JOIN certificates c ON c.id = r.certificate_id "
        "WHERE c.status = 'revoked'")]


def publish(keys, store, passphrase: bytes, now: datetime, valid_days: int = DEFAULT_VALID_DAYS) -> Published:
    """Sign a bundle as of ``now``, valid until ``now`` + ``valid_days`` (``next_update``)."""
    from certcli.pki.keys import key_id_of
    from certcli.pki.ledgers import LedgerRef
    from certcli.pki.trust_bundle import MAX_BUNDLE_BYTES, SealEntry, build_bundle, revocation_entry

    if not 1 <= valid_days <= MAX_VALID_DAYS:
        raise BadInput(field="--valid-days", value=str(valid_days), reason="out_of_range")
    keys.check_passphrase(passphrase)
    root = keys.root_certificate()
    if now >= root.not_valid_after_utc:   # verifiers trust no bundle an ended root signed (rules.root_vouches)
        raise KeyProblem(reason="bundle_after_root_expiry")
    if store is not None:
        registry.ensure_backfilled(store, now)
    codes: dict[str, list[str]] = {}
    entries, ledgers, infos = [], [], []
    for info, certificate in keys.seal_certificates():
        if info.seal_id not in codes:
            codes[info.seal_id] = qualification_codes(store, info.seal_id) if store is not None else []
        reference = None
        if is_closed(info, now):
            ledger = registry.ledger(store, info.key_id, before=ledger_bound(info)) if store is not None else \
                registry.Ledger(info.key_id, b"", 0, hashlib.sha256(b"").hexdigest())
            ledgers.append(ledger)
            reference = LedgerRef(info.key_id, ledger.count, ledger.sha256)
        entries.append(SealEntry(info, certificate, tuple(codes[info.seal_id]), reference))
        infos.append(info)
    root_key_id = key_id_of(root.public_key())
    revoked = [revocation_entry(root_key_id, number) for number in revoked_numbers(store)] if store is not None else []
    next_update = now + timedelta(days=valid_days)
    text = build_bundle(root, entries, revoked=revoked, issued_at=now, next_update=next_update,
                        sign=lambda data: keys.root_sign(data, passphrase))
    size = len(text.encode("utf-8"))
    if size > MAX_BUNDLE_BYTES:
        raise BundleTooLarge(size=size, limit=MAX_BUNDLE_BYTES, revoked=len(revoked))
    return Published(text, now, next_update, infos, ledgers, len(set(revoked)))


def write(published: Published, bundle_path: Path, writer) -> Path:
    """Write the bundle to ``bundle_path`` and the ledgers beside it
    (``<stem>.ledgers/<key_id>.bin``) with ``writer(path, data)``; returns the ledger folder."""
    from certcli.pki.ledgers import ledger_dir_beside

    folder = ledger_dir_beside(bundle_path)
    if published.ledgers:
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in published.ledger_files().items():
            writer(folder / name, data)
    writer(bundle_path, published.text.encode("utf-8"))      # last: a reader never sees a bundle without its ledgers
    return folder
