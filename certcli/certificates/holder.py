"""What a logged-in holder does with certificates: list, info, annotate, renew,
download (R1–R3, R5, R6, R8, R9).  Holder operations never touch a private key:
they record requests that an administrator's ``process`` completes and signs."""
from __future__ import annotations

from datetime import date, datetime

from certcli import audit, rules
from certcli.regions import service as regions
from certcli.accounts import Account
from certcli.errors import (
    AnnotationExpired,
    AnnotationNotNeeded,
    AnnotationPending,
    AnnotationRequired,
    CertificateRevoked,
    NotFound,
    UnknownScenario,
)
from certcli.store import Store, iso, lock_rows, parse_day, parse_instant

_CERT_COLUMNS = ("id, certificate_no, kind, name, id_type, id_number, qualification, level, specialty, "
                 "issued_on, issuer, seal, seal_id, region, approval_no, status, revoked_at")


def _is_exempt(cert: dict) -> bool:
    return rules.is_exempt(cert["seal"], parse_day(cert["issued_on"]))


def _record(row: dict) -> rules.AnnotationRecord:
    return rules.AnnotationRecord(row["status"], parse_instant(row["applied_at"]),
                                  parse_instant(row["valid_until"]))


def holder_certificates(store: Store, account: Account) -> list[dict]:
    """The holder's own certificates: same ID type and number, same name as
    :func:`certcli.rules.name_key` compares names (R9: a corrected name means
    registering again with the corrected details)."""
    key = rules.name_key(account.name)
    rows = store.all(
        f"SELECT {_CERT_COLUMNS} FROM certificates WHERE id_type = ? AND id_number = ? "
        "AND kind != 'membership' ORDER BY issued_on, certificate_no",
        (account.id_type, account.id_number),
    )
    return [row for row in rows if rules.name_key(row["name"]) == key]


def own_certificate(store: Store, account: Account, certificate_no: str, *, lock: bool = False) -> dict:
    """Another holder's certificate gets the same answer as a missing one.  ``lock``: a rule
    reads then writes its annotations (the quota), so on PostgreSQL the row is locked too."""
    row = store.one(
        f"SELECT {_CERT_COLUMNS} FROM certificates WHERE certificate_no = ? AND id_type = ? AND id_number = ? "
        "AND kind != 'membership'"  # members use `certcli member`
        + (lock_rows(store.conn) if lock else ""),
        (certificate_no, account.id_type, account.id_number),
    )
    if row is None or rules.name_key(row["name"]) != rules.name_key(account.name):
        raise NotFound(what="certificate", value=certificate_no)
    return row


def annotations_of(store: Store, certificate_id: int, kind: str = "annotation") -> list[dict]:
    return store.all(
        "SELECT * FROM annotations WHERE certificate_id = ? AND kind = ? ORDER BY applied_at, id",
        (certificate_id, kind),
    )


def valid_through(valid_until: str | None) -> str | None:
    """The last usable day (ISO date, inclusive) of an annotation whose exclusive end is
    ``valid_until`` (ISO instant): ``--json`` gives both, people read the first."""
    return rules.valid_through(parse_instant(valid_until)).isoformat() if valid_until else None


def _summary(state: str, row: dict | None) -> dict:
    until = row["valid_until"] if row is not None else None
    return {"state": state, "valid_until": until, "valid_through": valid_through(until),
            "annotation_no": row["annotation_no"] if row is not None else None}


def annotation_summary(cert: dict, annotations: list[dict], now: datetime) -> dict:
    """The one line a holder needs: none / pending / valid through … / expired / exempt, or void
    once the certificate is revoked (R8)."""
    if cert["status"] == "revoked":
        return _summary(rules.VOID, None)
    if _is_exempt(cert):
        return _summary("exempt", None)
    usable = _usable_annotation(annotations, now)
    if usable is not None:
        return _summary(rules.ACTIVE, usable)
    states = [(rules.annotation_state(_record(a), now), a) for a in annotations]
    for state, row in reversed(states):
        if state == rules.PENDING:
            return _summary(rules.PENDING, row)
    for state, row in reversed(states):
        if state == rules.EXPIRED:
            return _summary(rules.EXPIRED, row)
    return _summary(rules.NONE, None)


def _usable_annotation(annotations: list[dict], now: datetime) -> dict | None:
    active = [a for a in annotations if rules.annotation_state(_record(a), now) == rules.ACTIVE]
    return max(active, key=lambda a: a["valid_until"]) if active else None


def _history_state(cert: dict, annotation: dict, now: datetime) -> str:
    state = rules.annotation_state(_record(annotation), now)
    return rules.annotation_state_of_revoked(state) if cert["status"] == "revoked" else state


def describe(store: Store, cert: dict, now: datetime) -> dict:
    annotations = annotations_of(store, cert["id"])
    applied = [parse_day(a["applied_day"]) for a in annotations if a["status"] in rules.COUNTED_STATUSES]
    today = rules.cst_day(now)
    labels = scenario_labels(store) if annotations else {}
    return {
        "certificate_no": cert["certificate_no"],
        "name": cert["name"],
        "id_type": cert["id_type"],
        "id_number_masked": rules.mask_id_number(cert["id_number"]),
        "qualification": cert["qualification"],
        "level": cert["level"],
        "specialty": cert["specialty"],
        "issued_on": cert["issued_on"],
        "issuer": cert["issuer"],
        "seal": cert["seal"],
        "region": cert["region"],
        "status": cert["status"],
        "exempt": _is_exempt(cert),
        "annotation": annotation_summary(cert, annotations, now),
        "quota_remaining": rules.quota_remaining(applied, today),
        "annotations": [
            {"annotation_no": a["annotation_no"], "scenario": a["scenario"],
             "scenario_label": labels.get(a["scenario"]), "days": a["days"],
             "applied_at": a["applied_at"], "status": a["status"], "valid_until": a["valid_until"],
             "valid_through": valid_through(a["valid_until"]), "state": _history_state(cert, a, now)}
            for a in annotations
        ],
    }


def scenario_labels(store: Store) -> dict[str, dict]:
    """Each scenario's words, ``{"zh": …, "en": …}`` (scenarios are data: R1)."""
    return {r["code"]: {"zh": r["label_zh"], "en": r["label_en"]}
            for r in store.all("SELECT code, label_zh, label_en FROM scenarios")}


def scenarios(store: Store) -> dict[str, dict]:
    return {r["code"]: r for r in store.all("SELECT * FROM scenarios WHERE active = 1")}


def apply_annotation(store: Store, account: Account, certificate_no: str, *, scenario: str | None,
                     days: int, now: datetime) -> dict:
    """R1–R3: record a pending annotation, or refuse with the rule that forbids it."""
    rules.check_validity_days(days)
    known = scenarios(store)
    scenario = scenario or "self-use"
    if scenario not in known:
        raise UnknownScenario(scenario=scenario, known=sorted(known))
    today = rules.cst_day(now)
    # IMMEDIATE: the quota is read and the new row written under one write lock,
    # so concurrent applications cannot both see room for one more.
    with store.transaction() as conn:
        cert = own_certificate(store, account, certificate_no, lock=True)
        if cert["status"] == "revoked":
            raise CertificateRevoked(certificate_no=certificate_no)
        regions.require_electronic(store, cert)
        if _is_exempt(cert):
            raise AnnotationNotNeeded(certificate_no=certificate_no)
        existing = annotations_of(store, cert["id"])
        # The quota first: when the window is full that is the refusal that matters,
        # whether or not another application is still pending.
        rules.check_quota([parse_day(a["applied_day"]) for a in existing
                           if a["status"] in rules.COUNTED_STATUSES], today)
        pending = [a for a in existing if rules.annotation_state(_record(a), now) == rules.PENDING]
        if pending:   # applying again while one is being generated: download that one when it completes
            raise AnnotationPending(certificate_no=certificate_no, what="application",
                                    annotation_no=pending[-1]["annotation_no"])
        until = rules.valid_until(today, days)
        row_id = conn.execute(
            "INSERT INTO annotations (certificate_id, account_id, kind, scenario, days, applied_at, applied_day, "
            "valid_until, status) VALUES (?, ?, 'annotation', ?, ?, ?, ?, ?, 'pending') RETURNING id",
            (cert["id"], account.id, scenario, days, iso(now), today.isoformat(), iso(until)),
        ).fetchall()[0][0]
        number = annotation_number(today, row_id)
        conn.execute("UPDATE annotations SET annotation_no = ? WHERE id = ?", (number, row_id))
        audit.append(conn, now=now, actor=f"holder:{account.id}", action="annotate", subject=certificate_no,
                     annotation_no=number, scenario=scenario, days=days)
    return {"certificate_no": certificate_no, "annotation_no": number, "status": "pending", "scenario": scenario,
            "days": days, "applied_day": today.isoformat(), "valid_until": iso(until),
            "valid_through": rules.valid_through(until).isoformat(),
            "last_usable_day": rules.last_usable_day(today, days).isoformat()}


def annotation_number(day: date, row_id: int) -> str:
    return f"AN{day:%Y%m%d}{row_id:06d}"


def renew(store: Store, account: Account, certificate_no: str, *, days: int, now: datetime) -> dict:
    """A new annotation with the scenario of the latest one (R2: expired → apply again)."""
    cert = own_certificate(store, account, certificate_no)
    previous = annotations_of(store, cert["id"])
    scenario = previous[-1]["scenario"] if previous else None
    return apply_annotation(store, account, certificate_no, scenario=scenario, days=days, now=now)


def document_for_download(store: Store, account: Account, certificate_no: str, now: datetime) -> tuple[bytes, dict]:
    """R5/R6: the stored signed PDF for a usable annotation, or the reason there is none."""
    cert = own_certificate(store, account, certificate_no)
    if cert["status"] == "revoked":
        raise CertificateRevoked(certificate_no=certificate_no)
    regions.require_electronic(store, cert)
    if _is_exempt(cert):
        return _exempt_document(store, account, cert, now)
    annotations = annotations_of(store, cert["id"])
    usable = _usable_annotation(annotations, now)
    if usable is None:
        summary = annotation_summary(cert, annotations, now)
        if summary["state"] == rules.PENDING:
            raise AnnotationPending(certificate_no=certificate_no)
        if summary["state"] == rules.EXPIRED:
            raise AnnotationExpired(certificate_no=certificate_no, valid_until=summary["valid_until"])
        raise AnnotationRequired(certificate_no=certificate_no)
    pdf = _document(store, usable["document_sha256"])
    audit.record(store, now=now, actor=f"holder:{account.id}", action="download", subject=certificate_no,
                 annotation_no=usable["annotation_no"])
    return pdf, usable


def _exempt_document(store: Store, account: Account, cert: dict, now: datetime) -> tuple[bytes, dict]:
    """Exempt certificates need no annotation; the signed copy is made on first request."""
    with store.transaction() as conn:
        own_certificate(store, account, cert["certificate_no"], lock=True)   # one pending copy at most
        copies = annotations_of(store, cert["id"], kind="exempt_copy")
        done = [c for c in copies if c["status"] == "completed"]
        if done:
            audit.append(conn, now=now, actor=f"holder:{account.id}", action="download",
                         subject=cert["certificate_no"], annotation_no=done[-1]["annotation_no"])
            return _document(store, done[-1]["document_sha256"]), done[-1]
        if not any(c["status"] == "pending" for c in copies):
            today = rules.cst_day(now)
            row_id = conn.execute(
                "INSERT INTO annotations (certificate_id, account_id, kind, applied_at, applied_day, status) "
                "VALUES (?, ?, 'exempt_copy', ?, ?, 'pending') RETURNING id",
                (cert["id"], account.id, iso(now), today.isoformat()),
            ).fetchall()[0][0]
            conn.execute("UPDATE annotations SET annotation_no = ? WHERE id = ?",
                         (annotation_number(today, row_id), row_id))
    raise AnnotationPending(certificate_no=cert["certificate_no"])


def _document(store: Store, sha256: str | None) -> bytes:
    row = store.one("SELECT pdf FROM documents WHERE sha256 = ?", (sha256,)) if sha256 else None
    if row is None:
        raise NotFound(what="document", value=sha256 or "-")
    return row["pdf"]
