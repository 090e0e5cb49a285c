"""Regional issuance policy and paper-certificate collection (SPEC §3, seeds 000, 002).

Each region issues electronic certificates, paper ones, or both, from a given
day on; a certificate follows the policy in force on its issue day.  Where paper
exists a holder requests collection on site or by mail and an administrator
moves the request on: requested → ready → handed over (on site) or mailed.
"""
from __future__ import annotations

from datetime import date, datetime

from certcli import audit, rules
from certcli.regions import rules as region_rules
from certcli.errors import BadInput, CertificateRevoked, NotFound
from certcli.errors import PaperRequestExists
from certcli.regions.rules import Policy
from certcli.store import Store, iso, parse_day

MAX_REGION_LENGTH = 40


def _policy(row: dict) -> Policy:
    return Policy(row["region"], row["mode"], parse_day(row["since"]), row["collection_after_months"])


def policies_for(store: Store, region: str | None) -> list[Policy]:
    key = region_rules.region_key(region)
    if not key:
        return []
    return [_policy(r) for r in store.all("SELECT * FROM region_policies WHERE region_key = ?", (key,))]


def policy_of(store: Store, cert: dict) -> Policy:
    """The policy in force for ``cert`` (a certificates row with region and issued_on)."""
    return region_rules.effective_policy(policies_for(store, cert["region"]), cert["region"],
                                         parse_day(cert["issued_on"]))


def require_electronic(store: Store, cert: dict) -> None:
    """Refuse electronic annotation/download where the region issues paper only.
    Membership certificates are national and electronic: no regional policy applies."""
    if cert.get("kind") == "membership" or not cert.get("region"):
        return
    region_rules.check_electronic_allowed(policy_of(store, cert), cert["certificate_no"])


def set_policy(store: Store, region: str, mode: str, *, since: date | None, months: int | None,
               now: datetime) -> dict:
    region = (region or "").strip()
    if not region or len(region) > MAX_REGION_LENGTH or any(ord(c) < 32 for c in region):
        raise BadInput(field="REGION", reason="format" if region else "required")
    if mode not in region_rules.MODES:
        raise BadInput(field="--mode", value=mode, reason="unknown_choice", known=list(region_rules.MODES))
    if months is not None and not 0 <= months <= region_rules.MAX_COLLECTION_AFTER_MONTHS:
        raise BadInput(field="--collection-after-months", value=months, reason="out_of_range")
    key = region_rules.region_key(region)
    since_text = since.isoformat() if since else None
    with store.transaction() as conn:
        # one policy per region and start day: setting it again replaces it
        conn.execute("DELETE FROM region_policies WHERE region_key = ? AND coalesce(since, '') = coalesce(?, '')",
                     (key, since_text))   # SQLite's `since IS ?`, in SQL PostgreSQL speaks too
        conn.execute("INSERT INTO region_policies (region, region_key, mode, since, collection_after_months, "
                     "set_at) VALUES (?, ?, ?, ?, ?, ?)", (region, key, mode, since_text, months, iso(now)))
        audit.append(conn, now=now, actor="admin", action="region_policy", subject=region, mode=mode,
                     since=since_text, collection_after_months=months)
    policy = Policy(region, mode, since, months)
    return {"region": region, "mode": mode, "since": since_text, "collection_after_months": policy.months}


def list_policies(store: Store) -> list[dict]:
    rows = store.all("SELECT region, mode, since, collection_after_months, set_at, set_by FROM region_policies "
                     "ORDER BY region_key, since")
    for row in rows:
        if row["collection_after_months"] is None:
            row["collection_after_months"] = region_rules.DEFAULT_COLLECTION_AFTER_MONTHS
    return rows


# --- paper collection ------------------------------------------------------------

_REQUEST_COLUMNS = ("r.request_no, r.method, r.proxy, r.address, r.status, r.requested_at, r.ready_at, r.closed_at, "
                    "r.tracking_no, c.certificate_no, c.qualification, c.region")


def request_number(day: date, row_id: int) -> str:
    return f"PR{day:%Y%m%d}{row_id:06d}"


def request_paper(store: Store, account, cert: dict, *, method: str, proxy: bool, address: str | None,
                  now: datetime) -> dict:
    """Record a paper collection request for the holder's own certificate ``cert``."""
    try:
        region_rules.check_method(method, proxy)
    except ValueError as problem:
        raise BadInput(field="--proxy" if str(problem) == "proxy" else "--method", value=method,
                       reason="unknown_choice", known=[region_rules.ONSITE] if str(problem) == "proxy" else list(region_rules.METHODS)) from None
    if address is not None and (len(address) > 200 or any(ord(c) < 32 for c in address)):
        raise BadInput(field="--address", reason="too_long" if len(address) > 200 else "format")
    if cert["status"] == "revoked":
        raise CertificateRevoked(certificate_no=cert["certificate_no"])
    policy = policy_of(store, cert)
    region_rules.check_paper_allowed(policy, cert["certificate_no"])
    today = rules.cst_day(now)
    opens_on = region_rules.check_collection_open(parse_day(cert["issued_on"]), policy.months, today)
    with store.transaction() as conn:
        existing = store.one("SELECT request_no, status FROM paper_requests WHERE certificate_id = ? "
                             "ORDER BY id DESC LIMIT 1", (cert["id"],))
        if existing is not None:  # one paper certificate per certificate: open or already collected
            raise PaperRequestExists(request_no=existing["request_no"], status=existing["status"])
        row_id = conn.execute(
            "INSERT INTO paper_requests (certificate_id, account_id, method, proxy, address, status, requested_at) "
            "VALUES (?, ?, ?, ?, ?, 'requested', ?) RETURNING id",
            (cert["id"], account.id, method, int(proxy), address, iso(now))).fetchall()[0][0]
        number = request_number(today, row_id)
        conn.execute("UPDATE paper_requests SET request_no = ? WHERE id = ?", (number, row_id))
        audit.append(conn, now=now, actor=f"holder:{account.id}", action="paper_request",
                     subject=cert["certificate_no"], request_no=number, method=method, proxy=proxy)
    return {"request_no": number, "certificate_no": cert["certificate_no"], "method": method, "proxy": proxy,
            "status": region_rules.REQUESTED, "requested_at": iso(now), "collection_opened_on": opens_on,
            "region": policy.region, "checklist": list(region_rules.checklist(method, proxy))}


def _with_checklist(row: dict) -> dict:
    row["proxy"] = bool(row["proxy"])
    row["checklist"] = list(region_rules.checklist(row["method"], row["proxy"]))
    return row


def holder_requests(store: Store, account) -> list[dict]:
    return [_with_checklist(r) for r in store.all(
        f"SELECT {_REQUEST_COLUMNS} FROM paper_requests r JOIN certificates c ON c.id = r.certificate_id "
        "WHERE r.account_id = ? ORDER BY r.id", (account.id,))]


def all_requests(store: Store, status: str | None = None, limit: int = 1000) -> list[dict]:
    if status is not None and status not in (region_rules.REQUESTED, region_rules.READY,
                                             region_rules.HANDED_OVER, region_rules.MAILED):
        raise BadInput(field="--status", value=status, reason="unknown_choice")
    where, params = ("WHERE r.status = ? ", (status,)) if status else ("", ())
    return [_with_checklist(r) for r in store.all(
        f"SELECT {_REQUEST_COLUMNS} FROM paper_requests r JOIN certificates c ON c.id = r.certificate_id "
        f"{where}ORDER BY r.requested_at, r.id LIMIT {int(limit)}", params)]


def move_request(store: Store, reference: str, action: str, *, tracking_no: str | None, now: datetime) -> dict:
    """An administrator moves a request on; ``reference`` is its number or its certificate's."""
    if action == "mailed":
        tracking_no = (tracking_no or "").strip()
        if not tracking_no or len(tracking_no) > 64 or not tracking_no.isprintable():
            raise BadInput(field="--tracking", reason="format" if tracking_no else "required")
    with store.transaction() as conn:
        row = store.one("SELECT r.id, r.request_no, r.method, r.status FROM paper_requests r "
                        "WHERE r.request_no = ?", (reference,)) or store.one(
            "SELECT r.id, r.request_no, r.method, r.status FROM paper_requests r JOIN certificates c "
            "ON c.id = r.certificate_id WHERE c.certificate_no = ? ORDER BY r.id DESC LIMIT 1", (reference,))
        if row is None:
            raise NotFound(what="paper_request", value=reference)
        status = region_rules.next_status(row["status"], action, row["method"])
        stamp = "ready_at" if status == region_rules.READY else "closed_at"
        conn.execute(f"UPDATE paper_requests SET status = ?, {stamp} = ?, tracking_no = coalesce(?, tracking_no) "
                     "WHERE id = ?", (status, iso(now), tracking_no if action == "mailed" else None, row["id"]))
        audit.append(conn, now=now, actor="admin", action="paper_" + action, subject=row["request_no"],
                     tracking_no=tracking_no if action == "mailed" else None)
    return {"request_no": row["request_no"], "status": status, "method": row["method"],
            "tracking_no": tracking_no if action == "mailed" else None, "at": iso(now)}
