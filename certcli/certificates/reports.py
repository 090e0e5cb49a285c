"""What administrators read: counts (``admin stats``) and the pending queue
(``admin pending``).  R4: a request pending for more than 24 h is overdue."""
from __future__ import annotations

from datetime import datetime

from certcli import rules
from certcli.store import Store, iso

PENDING_LIST_LIMIT = 1000


def stats(store: Store, now: datetime) -> dict:
    by_status = {r["status"]: r["n"] for r in store.all(
        "SELECT status, count(*) AS n FROM certificates GROUP BY status")}
    by_qualification = store.all(
        "SELECT qualification, status, count(*) AS n FROM certificates GROUP BY qualification, status "
        "ORDER BY qualification, status")
    pending = store.one("SELECT count(*) AS n, min(applied_at) AS oldest FROM annotations WHERE status = 'pending'")
    # instants are stored in CST ISO form, so text order is time order (R4: overdue after 24 h)
    cutoff = iso(now - rules.PROCESSING_PROMISE)
    overdue = store.one("SELECT count(*) AS n FROM annotations WHERE status = 'pending' AND applied_at < ?",
                        (cutoff,))
    member_documents = store.one(
        "SELECT count(*) AS pending, coalesce(sum(CASE WHEN requested_at < ? THEN 1 ELSE 0 END), 0) AS overdue, "
        "min(requested_at) AS oldest_pending_at FROM member_documents WHERE status = 'pending'", (cutoff,))
    annotations = {r["status"]: r["n"] for r in store.all(
        "SELECT status, count(*) AS n FROM annotations WHERE kind = 'annotation' GROUP BY status")}
    return {
        "certificates": {"total": sum(by_status.values()), "valid": by_status.get("valid", 0),
                         "revoked": by_status.get("revoked", 0)},
        "by_qualification": by_qualification,
        "annotations": annotations,
        "pending": pending["n"],
        "overdue": overdue["n"],
        "oldest_pending_at": pending["oldest"],
        "member_documents": member_documents,
        "accounts": store.one("SELECT count(*) AS n FROM accounts")["n"],
    }


def pending_requests(store: Store, now: datetime, *, overdue_only: bool = False) -> dict:
    """Pending annotation requests and member certificates, oldest first, each with
    its overdue mark.  Instants are stored in CST ISO form, so text order is time order."""
    cutoff = iso(now - rules.PROCESSING_PROMISE)
    only_overdue = "AND {column} < ? " if overdue_only else ""
    params = (cutoff, cutoff) if overdue_only else (cutoff,)
    annotations = store.all(
        "SELECT a.annotation_no, a.kind, c.certificate_no, a.applied_at, a.applied_at < ? AS overdue "
        "FROM annotations a JOIN certificates c ON c.id = a.certificate_id WHERE a.status = 'pending' "
        + only_overdue.format(column="a.applied_at") + f"ORDER BY a.applied_at LIMIT {PENDING_LIST_LIMIT}", params)
    members = store.all(
        "SELECT d.document_no, c.certificate_no, d.requested_at, d.requested_at < ? AS overdue "
        "FROM member_documents d JOIN certificates c ON c.id = d.certificate_id WHERE d.status = 'pending' "
        + only_overdue.format(column="d.requested_at") + f"ORDER BY d.requested_at LIMIT {PENDING_LIST_LIMIT}",
        params)
    for row in annotations + members:
        row["overdue"] = bool(row["overdue"])
    return {"pending": annotations, "member_documents": members}


def key_warnings(keys, now: datetime) -> list[dict]:
    """The issuer root and every active seal certificate that ends within
    ``rules.EXPIRY_WARNING`` (180 days) of ``now``, or has ended, soonest first:
    ``{"kind": "root_expiring" | "seal_expiring", "key_id", "seal_id", "not_after",
    "days_left", "expired"}`` (``seal_id`` is None for the root; ``days_left`` is
    negative once it has ended).  ``keys`` is the home's IssuerKeys; none: no warnings."""
    if not keys.exists():
        return []
    from certcli.pki.keys import key_id_of

    root = keys.root_certificate()
    candidates = [("root_expiring", key_id_of(root.public_key()), None, root.not_valid_after_utc)]
    candidates += [("seal_expiring", seal.key_id, seal.seal_id, seal.not_after)
                   for seal in keys.seals() if seal.status == "active"]
    warnings = []
    for kind, key_id, seal_id, not_after in candidates:
        days_left = rules.expiry_warning(not_after, now)
        if days_left is not None:
            warnings.append({"kind": kind, "key_id": key_id, "seal_id": seal_id,
                             "not_after": not_after.astimezone(rules.CST), "days_left": days_left,
                             "expired": now >= not_after})
    return sorted(warnings, key=lambda warning: (warning["not_after"], warning["kind"]))
