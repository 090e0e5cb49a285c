"""Membership e-certificates (电子非执业会员证, SPEC §3, seed 003): the two-stage
review, the member's account, annual inspections, transfers, public facts.

A membership is a ``certificates`` row of kind ``membership`` imported from a
roster; its workflow state lives in ``members``.  The local association reviews
first, the national association second.  Approval creates a login named by the
certificate number whose initial password nobody knows yet: the applicant
obtains it (once) from the progress query with their ID number, name and
approval document number, and must replace it at first login.  Only scrypt
hashes are stored.
"""
from __future__ import annotations

import hmac
import secrets
from datetime import date, datetime
from pathlib import Path
from typing import Callable

from certcli import accounts, audit, oracles, rules
from certcli.membership import rules as member_rules
from certcli.errors import (
    AccountLocked,
    BadCredentials,
    BadInput,
    CertificateRevoked,
    NotFound,
    PasswordChangeRequired,
)
from certcli.errors import MemberLoginRequired, MemberNotApproved, PasswordNotChanged
from certcli.membership.rules import Review
from certcli.store import Store, iso, parse_day, parse_instant

MEMBER_ID_TYPE = "member"  # accounts.id_type of a member login; id_number is the certificate number
_PASSWORD_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz23456789"  # nothing to misread
_MEMBER_COLUMNS = ("c.id, c.certificate_no, c.kind, c.name, c.id_type, c.id_number, c.qualification, c.level, "
                   "c.specialty, c.issued_on, c.issuer, c.seal, c.seal_id, c.region, c.approval_no, c.photo, "
                   "c.status, c.birth_date, c.mobile, c.email, c.exam_pass_year, "
                   "coalesce(m.local_review, 'pending') AS local_review, "
                   "coalesce(m.national_review, 'pending') AS national_review, m.approved_at, m.account_id, "
                   "m.password_state, m.password_revealed_at, m.status_failures, m.status_locked_until, "
                   "m.photo_source, m.photo_jpeg IS NOT NULL AS has_photo, "
                   "m.verified_photo_jpeg IS NOT NULL AS has_verified_photo, m.verified_photo_at, "
                   "m.details_confirmed_at")
_FROM = "FROM certificates c LEFT JOIN members m ON m.certificate_id = c.id"


def review_of(row: dict) -> Review:
    return Review(row["local_review"], row["national_review"])


def member_row(store: Store, certificate_no: str) -> dict:
    row = store.one(f"SELECT {_MEMBER_COLUMNS} {_FROM} WHERE c.certificate_no = ? AND c.kind = 'membership'",
                    ((certificate_no or "").strip(),))
    if row is None:
        raise NotFound(what="membership", value=certificate_no)
    return row


def _ensure_member(conn, certificate_id: int) -> None:
    conn.execute("INSERT INTO members (certificate_id) VALUES (?) ON CONFLICT DO NOTHING", (certificate_id,))


# --- review (administrators) ---------------------------------------------------------

def review(store: Store, certificate_no: str, *, stage: str, approve: bool, reason: str | None,
           approval_no: str | None, now: datetime) -> dict:
    if stage not in member_rules.STAGES:
        raise BadInput(field="--stage", value=stage, reason="unknown_choice", known=list(member_rules.STAGES))
    reason = (reason or "").strip() or None
    if not approve and not reason:
        raise BadInput(field="--reason", reason="required")
    approval_no = (approval_no or "").strip() or None
    if approval_no is not None and (len(approval_no) > 64 or not approval_no.isprintable()):
        raise BadInput(field="--approval-no", reason="format")
    # A random password nobody knows until the applicant asks for it; hashed before
    # the write lock is taken (scrypt is deliberately slow).
    placeholder_hash = accounts.hash_password(secrets.token_urlsafe(24)) if approve and stage == "national" else None
    with store.transaction() as conn:
        row = member_row(store, certificate_no)
        if row["status"] == "revoked":
            raise CertificateRevoked(certificate_no=row["certificate_no"])
        after = member_rules.check_review(review_of(row), stage, approve)
        if after.approved and not (approval_no or row["approval_no"]):
            raise BadInput(field="--approval-no", reason="approval_no_required")
        _ensure_member(conn, row["id"])
        conn.execute("UPDATE members SET local_review = ?, national_review = ? WHERE certificate_id = ?",
                     (after.local, after.national, row["id"]))
        conn.execute("INSERT INTO member_reviews (certificate_id, stage, decision, reason, decided_at) "
                     "VALUES (?, ?, ?, ?, ?)", (row["id"], stage, getattr(after, stage), reason, iso(now)))
        if after.approved:
            if approval_no:
                conn.execute("UPDATE certificates SET approval_no = ? WHERE id = ?", (approval_no, row["id"]))
            conn.execute("INSERT INTO accounts (id_type, id_number, name, password_hash, created_at) "
                         "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                         (MEMBER_ID_TYPE, row["certificate_no"].upper(), row["name"], placeholder_hash, iso(now)))
            account_id = conn.execute("SELECT id FROM accounts WHERE id_type = ? AND id_number = ?",
                                      (MEMBER_ID_TYPE, row["certificate_no"].upper())).fetchone()[0]
            conn.execute("UPDATE members SET approved_at = ?, account_id = ?, password_state = 'armed' "
                         "WHERE certificate_id = ?", (iso(now), account_id, row["id"]))
        audit.append(conn, now=now, actor="admin", action="member_review", subject=row["certificate_no"],
                     stage=stage, decision=getattr(after, stage), reason=reason)
    return {"certificate_no": row["certificate_no"], "stage": stage, "decision": getattr(after, stage),
            "reason": reason, "progress": after.progress, "local": after.local, "national": after.national}


_LOCAL, _NATIONAL = "coalesce(m.local_review, 'pending')", "coalesce(m.national_review, 'pending')"
_PROGRESS_SQL = {  # Review.progress as SQL, so that the filter runs in the database
    "awaiting_local": f"{_LOCAL} = 'pending'",
    "rejected_local": f"{_LOCAL} = 'rejected'",
    "awaiting_national": f"{_LOCAL} = 'approved' AND {_NATIONAL} = 'pending'",
    "rejected_national": f"{_LOCAL} = 'approved' AND {_NATIONAL} = 'rejected'",
    "approved": f"{_LOCAL} = 'approved' AND {_NATIONAL} = 'approved'",
}


def list_members(store: Store, progress: str | None = None, limit: int = 1000) -> list[dict]:
    if progress is not None and progress not in _PROGRESS_SQL:
        raise BadInput(field="--progress", value=progress, reason="unknown_choice", known=list(_PROGRESS_SQL))
    where = f" AND {_PROGRESS_SQL[progress]}" if progress else ""
    rows = store.all(f"SELECT {_MEMBER_COLUMNS} {_FROM} WHERE c.kind = 'membership'{where} "
                     f"ORDER BY c.issued_on, c.certificate_no LIMIT {int(limit)}")
    return [{"certificate_no": r["certificate_no"], "name": r["name"], "region": r["region"],
             "approved_on": r["issued_on"], "progress": review_of(r).progress, "status": r["status"]} for r in rows]


def reviews_of(store: Store, certificate_id: int) -> list[dict]:
    return store.all("SELECT stage, decision, reason, decided_at FROM member_reviews WHERE certificate_id = ? "
                     "ORDER BY id", (certificate_id,))


def reset_password(store: Store, certificate_no: str, now: datetime) -> dict:
    """A member who lost the initial password before first login gets a new one from the progress query."""
    placeholder_hash = accounts.hash_password(secrets.token_urlsafe(24))
    with store.transaction() as conn:
        row = member_row(store, certificate_no)
        if not review_of(row).approved or row["account_id"] is None:
            raise MemberNotApproved(progress=review_of(row).progress)
        conn.execute("UPDATE accounts SET password_hash = ?, failed_logins = 0, locked_until = NULL WHERE id = ?",
                     (placeholder_hash, row["account_id"]))
        conn.execute("DELETE FROM sessions WHERE account_id = ?", (row["account_id"],))
        conn.execute("UPDATE members SET password_state = 'armed', password_revealed_at = NULL, status_failures = 0, "
                     "status_locked_until = NULL WHERE certificate_id = ?", (row["id"],))
        audit.append(conn, now=now, actor="admin", action="member_password_reset", subject=row["certificate_no"])
    return {"certificate_no": row["certificate_no"], "password_state": "armed", "at": iso(now)}


# --- the applicant's progress query (no login) -------------------------------------

def _initial_password() -> str:
    groups = ["".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(4)) for _ in range(3)]
    return "-".join(groups)  # 12 symbols of 54: about 69 bits


def application_status(store: Store, *, id_type: str, id_number: str, name: str, approval_no: str | None,
                       deliver: Callable[[str, str], None] | None, now: datetime) -> list[dict]:
    """Review progress for anyone with the applicant's ID number and name; once
    approved, with the approval document number too, the certificate number and
    (the first time only) the initial password, handed to ``deliver(certificate_no,
    password)`` inside the transaction that issues it: if delivery fails, nothing
    is issued.  Without ``deliver`` the password stays unissued.  Wrong approval
    numbers lock the query like wrong passwords lock a login.

    No login is needed, so each query is a guess that costs what a login attempt
    costs (:mod:`certcli.oracles`): scrypt work, one fixed duration whatever the
    answer, misses audited (``member_status_miss``, ID number masked) and limited
    per ID number and per name; past the limit every query naming that key is
    ``rate_limited``."""
    id_number = rules.normalize_id_number(id_type, id_number)
    name = (name or "").strip()
    with oracles.paced():
        rows = oracles.guess(
            store, scope="member_status", keys=(oracles.id_key(id_type, id_number), oracles.name_key(name)), now=now,
            query=lambda: [row for row in store.all(f"SELECT {_MEMBER_COLUMNS} {_FROM} WHERE c.id_type = ? "
                                                    "AND c.id_number = ? AND c.kind = 'membership' "
                                                    "ORDER BY c.issued_on", (id_type, id_number))
                           if rules.name_key(row["name"]) == rules.name_key(name)],
            hit=bool, subject=rules.mask_id_number(id_number),
            details={"id_type": id_type, "name": rules.mask_name(name)})
        return _progress(store, rows, approval_no, deliver, now)


def _progress(store: Store, rows: list[dict], approval_no: str | None, deliver, now: datetime) -> list[dict]:
    """Each application's review progress and, with the approval number, its credentials."""
    results, failure = [], None
    for row in rows:
        progress = review_of(row)
        entry = {"progress": progress.progress, "local": progress.local, "national": progress.national,
                 "reviews": [{k: r[k] for k in ("stage", "decision", "reason", "decided_at")}
                             for r in reviews_of(store, row["id"])], "qualification": row["qualification"],
                 "issuer": row["issuer"]}
        results.append(entry)
        if not progress.approved or not approval_no:
            entry["credentials"] = "approval_no_needed" if progress.approved else None
            continue
        outcome = _credentials(store, row, approval_no.strip(), deliver, now)
        if isinstance(outcome, Exception):
            failure = outcome
            entry["credentials"] = "refused"
            continue
        entry.update(outcome)
    if failure is not None and not any(e.get("certificate_no") for e in results):
        raise failure  # after the failure count was committed
    return results


def _credentials(store: Store, row: dict, approval_no: str, deliver, now: datetime) -> dict | Exception:
    with store.transaction() as conn:
        current = store.one("SELECT status_failures, status_locked_until, password_state, password_revealed_at "
                            "FROM members WHERE certificate_id = ?", (row["id"],))
        try:
            rules.check_not_locked(parse_instant(current["status_locked_until"]), now)
        except AccountLocked as locked:
            return locked
        if not hmac.compare_digest(approval_no.encode(), (row["approval_no"] or "").encode()):
            failed, locked_until = rules.after_failed_login(current["status_failures"], now)
            conn.execute("UPDATE members SET status_failures = ?, status_locked_until = ? WHERE certificate_id = ?",
                         (failed, iso(locked_until), row["id"]))
            return BadCredentials(what="approval_no") if locked_until is None else AccountLocked(until=locked_until)
        conn.execute("UPDATE members SET status_failures = 0, status_locked_until = NULL WHERE certificate_id = ?",
                     (row["id"],))
        found = {"certificate_no": row["certificate_no"], "credentials": current["password_state"]}
        if current["password_state"] == "armed" and deliver is None:  # nowhere safe to show it: keep it
            found["credentials"] = "initial_password_available"
        elif current["password_state"] == "armed":
            password = _initial_password()
            conn.execute("UPDATE accounts SET password_hash = ? WHERE id = ?",
                         (accounts.hash_password(password), row["account_id"]))
            deliver(row["certificate_no"], password)
            conn.execute("UPDATE members SET password_state = 'revealed', password_revealed_at = ? "
                         "WHERE certificate_id = ?", (iso(now), row["id"]))
            audit.append(conn, now=now, actor="applicant", action="member_password_issued",
                         subject=row["certificate_no"])
            found["credentials"] = "initial_password"
        elif current["password_state"] == "revealed":
            found["revealed_at"] = current["password_revealed_at"]
        return found


# --- the member's login --------------------------------------------------------------

def login(store: Store, home: Path, *, certificate_no: str, password: str,
          new_password: Callable[[], str | None], now: datetime) -> tuple[accounts.Account, bool]:
    """Log a member in; the initial password must be replaced in the same step
    (``new_password`` is asked only then).  Returns (account, password_changed)."""
    account = accounts.login(store, home, id_number=certificate_no, password=password, id_type=MEMBER_ID_TYPE,
                             now=now)
    try:
        row = store.one("SELECT certificate_id, password_state FROM members WHERE account_id = ?", (account.id,))
        if row is None:
            raise MemberLoginRequired()
        if row["password_state"] == "changed":
            return account, False
        replacement = new_password()
        if not replacement:
            raise PasswordChangeRequired(certificate_no=certificate_no)
        if replacement == password:
            raise PasswordNotChanged()
        accounts.check_password_strength(replacement)
        new_hash = accounts.hash_password(replacement)
        with store.transaction() as conn:
            conn.execute("UPDATE accounts SET password_hash = ? WHERE id = ?", (new_hash, account.id))
            conn.execute("UPDATE members SET password_state = 'changed' WHERE certificate_id = ?",
                         (row["certificate_id"],))
            audit.append(conn, now=now, actor=f"member:{account.id}", action="member_password_changed",
                         subject=account.id_number)
        return account, True
    except BaseException:
        accounts.logout(store, home)  # no session is left open with the initial password
        raise


def current_member(store: Store, home: Path, now: datetime) -> dict:
    account = accounts.current_account(store, home, now)
    if account.id_type != MEMBER_ID_TYPE:
        raise MemberLoginRequired()
    row = store.one(f"SELECT {_MEMBER_COLUMNS} {_FROM} WHERE m.account_id = ?", (account.id,))
    if row is None:
        raise MemberLoginRequired()
    if row["password_state"] != "changed":
        raise PasswordChangeRequired(certificate_no=row["certificate_no"])
    if row["status"] == "revoked":
        raise CertificateRevoked(certificate_no=row["certificate_no"])
    return row


# --- annual inspections and transfers ------------------------------------------------

def record_inspection(store: Store, certificate_no: str, *, year: int, passed: bool, now: datetime) -> dict:
    today = rules.cst_day(now)
    if not member_rules.EARLIEST_PASS_YEAR <= year <= today.year:
        raise BadInput(field="--year", value=year, reason="out_of_range")
    with store.transaction() as conn:
        row = member_row(store, certificate_no)
        conn.execute("INSERT INTO member_inspections (certificate_id, year, passed, recorded_at) VALUES (?, ?, ?, ?) "
                     "ON CONFLICT (certificate_id, year) DO UPDATE SET passed = excluded.passed, "
                     "recorded_at = excluded.recorded_at", (row["id"], year, int(passed), iso(now)))
        audit.append(conn, now=now, actor="admin", action="member_inspection", subject=row["certificate_no"],
                     year=year, passed=passed)
    return {"certificate_no": row["certificate_no"], "year": year, "passed": passed, **inspections(store, row, now)}


def inspections(store: Store, row: dict, now: datetime) -> dict:
    records = store.all("SELECT year, passed FROM member_inspections WHERE certificate_id = ? ORDER BY year",
                        (row["id"],))
    passed = [r["year"] for r in records if r["passed"]]
    return {"latest_passed": member_rules.latest_passed_inspection(passed),
            "overdue": member_rules.inspection_overdue(passed, parse_day(row["issued_on"]), rules.cst_day(now)),
            "inspections": [{"year": r["year"], "passed": bool(r["passed"])} for r in records]}


def record_transfer(store: Store, certificate_no: str, *, to_region: str, on: date | None, now: datetime) -> dict:
    to_region = (to_region or "").strip()
    if not to_region or len(to_region) > 40 or not to_region.isprintable():
        raise BadInput(field="--to", reason="format" if to_region else "required")
    day = on or rules.cst_day(now)
    with store.transaction() as conn:
        row = member_row(store, certificate_no)
        conn.execute("INSERT INTO member_transfers (certificate_id, from_region, to_region, transferred_on) "
                     "VALUES (?, ?, ?, ?)", (row["id"], row["region"], to_region, day.isoformat()))
        conn.execute("UPDATE certificates SET region = ? WHERE id = ?", (to_region, row["id"]))
        audit.append(conn, now=now, actor="admin", action="member_transfer", subject=row["certificate_no"],
                     from_region=row["region"], to_region=to_region, on=day.isoformat())
    return {"certificate_no": row["certificate_no"], "from_region": row["region"], "to_region": to_region,
            "on": day.isoformat()}


def transfers(store: Store, certificate_id: int) -> list[dict]:
    return store.all("SELECT from_region, to_region, transferred_on FROM member_transfers WHERE certificate_id = ? "
                     "ORDER BY transferred_on, id", (certificate_id,))


# --- what members and the public see -------------------------------------------------

def personal_details(row: dict) -> dict:
    birth = row["birth_date"] or member_rules.birth_date_from_resident_id(row["id_type"], row["id_number"])
    return {"birth_date": str(birth) if birth else None, "mobile": row["mobile"], "email": row["email"]}


def describe(store: Store, row: dict, now: datetime) -> dict:
    approved_on = parse_day(row["issued_on"])
    progress = review_of(row)
    return {
        "certificate_no": row["certificate_no"], "name": row["name"],
        "id_number_masked": rules.mask_id_number(row["id_number"]), "qualification": row["qualification"],
        "issuer": row["issuer"], "approved_on": row["issued_on"], "approval_no": row["approval_no"],
        "region": row["region"], "status": row["status"], "progress": progress.progress,
        "exam_pass_year": row["exam_pass_year"],
        "may_reuse_exam_photo": member_rules.may_reuse_exam_photo(row["exam_pass_year"]),
        "photo": {"source": row["photo_source"], "chosen": bool(row["has_photo"]),
                  "verified_uploaded": bool(row["has_verified_photo"])},
        "details": personal_details(row), "details_confirmed": row["details_confirmed_at"] is not None,
        "paper_certificate": member_rules.paper_certificate_state(approved_on, rules.cst_day(now)),
        "annual_inspection": inspections(store, row, now), "transfers": transfers(store, row["id"]),
    }


def paper_member_status(store: Store, number: str, name: str, now: datetime) -> dict | None:
    """What the public lookup (``verify --number``) adds for a membership; None
    for any other certificate.  ``checks`` are (name, ok, reason, detail) for
    ``Verdict.add``; their words are check.* and reason.* in the catalog."""
    row = store.one(f"SELECT {_MEMBER_COLUMNS} {_FROM} WHERE c.certificate_no = ? "
                    "AND c.kind = 'membership'", ((number or "").strip(),))
    if row is None or rules.name_key(row["name"]) != rules.name_key(name):
        return None
    progress = review_of(row)
    paper = member_rules.paper_certificate_state(parse_day(row["issued_on"]), rules.cst_day(now))
    inspected = inspections(store, row, now)
    facts = {"kind": "membership", "membership": progress.progress, "paper_certificate": paper,
             "latest_inspection": inspected["latest_passed"], "inspection_overdue": inspected["overdue"]}
    checks = []
    if not progress.approved:
        checks.append(("membership", False, "member_not_approved", ""))
    if paper == "invalid":
        facts["paper_invalid_from"] = member_rules.PAPER_INVALID_FROM.isoformat()
        checks.append(("paper_certificate", False, "paper_member_expired", ""))
    elif paper == "valid":
        facts["paper_invalid_from"] = member_rules.PAPER_INVALID_FROM.isoformat()
        checks.append(("paper_certificate", True, "paper_member_valid", ""))
    return {"facts": facts, "checks": checks}
