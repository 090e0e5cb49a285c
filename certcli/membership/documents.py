"""The member's own steps before download (photo, personal details) and the
member certificate PDF: requested by the member, rendered and signed by the
administrator's ``admin process`` (R4: a member never needs the issuer key),
whose one pipeline (certcli.certificates.processing) takes the pages
:func:`pending_member_pages` describes.

A request snapshots what the PDF will show (photo, disclosed details), so the
document signed is exactly the one asked for; a request with the same content
is served again instead of being signed twice.
"""
from __future__ import annotations

import hashlib
import io
import json
from datetime import date, datetime
from pathlib import Path

from certcli import audit, rules
from certcli.documents.page import PageData
from certcli.membership import rules as member_rules
from certcli.errors import BadInput
from certcli.errors import BadPhoto, DetailsIncomplete, DocumentPending
from certcli.membership.service import inspections, member_row, personal_details, transfers
from certcli.store import Store, iso

MAX_PHOTO_BYTES = 2 * 2**20
MIN_PHOTO_SIDE, MAX_PHOTO_SIDE = 100, 6000
STORED_PHOTO_BOX = (600, 800)  # plenty for 26 × 35 mm on the page
MAX_QR_VALUE_BYTES = 255  # one QR payload field

DETAIL_LABELS = {"approval_no": "批准文号", "birth_date": "出生日期", "mobile": "移动电话", "email": "电子邮件",
                 "inspection": "年检通过", "transfers": "转会情况"}


# --- photos ----------------------------------------------------------------------------

def normalize_photo(data: bytes) -> tuple[bytes, int, int]:
    """Accept a JPEG only (by magic bytes and by decoding it), within size limits, and
    re-encode it: metadata such as GPS tags is dropped and the PDF never embeds the
    uploaded bytes themselves."""
    if len(data) > MAX_PHOTO_BYTES:
        raise BadPhoto(reason="too_large", detail=f"{len(data)} > {MAX_PHOTO_BYTES} bytes")
    if not data.startswith(b"\xff\xd8\xff"):
        raise BadPhoto(reason="not_jpeg")
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != "JPEG":
                raise BadPhoto(reason="not_jpeg", detail=str(image.format))
            width, height = image.size
            if not (MIN_PHOTO_SIDE <= width <= MAX_PHOTO_SIDE and MIN_PHOTO_SIDE <= height <= MAX_PHOTO_SIDE):
                raise BadPhoto(reason="dimensions", detail=f"{width}×{height}")
            image.load()
            picture = image.convert("RGB")
    except BadPhoto:
        raise
    except Exception as error:  # noqa: BLE001 - any decoder failure on uploaded bytes is a bad photo
        raise BadPhoto(reason="undecodable", detail=type(error).__name__) from None
    picture.thumbnail(STORED_PHOTO_BOX)
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=88, optimize=True)
    return out.getvalue(), picture.width, picture.height


def read_photo_file(path: Path, *, named: bool = False) -> bytes:
    """The photo file's bytes; ``named``: a file the user gave, whose path the error names."""
    shown = str(path) if named else None
    try:
        if Path(path).stat().st_size > MAX_PHOTO_BYTES:
            raise BadPhoto(reason="too_large", detail=f"> {MAX_PHOTO_BYTES} bytes", path=shown)
        return Path(path).read_bytes()
    except OSError as error:
        raise BadPhoto(reason="unreadable", detail=error.strerror, path=shown) from None


def upload_verified_photo(store: Store, certificate_no: str, path: Path, now: datetime) -> dict:
    """An association uploads the photo it checked on site (members who passed before 2010)."""
    jpeg, width, height = normalize_photo(read_photo_file(path, named=True))
    with store.transaction() as conn:
        row = member_row(store, certificate_no)
        conn.execute("INSERT INTO members (certificate_id) VALUES (?) ON CONFLICT DO NOTHING", (row["id"],))
        conn.execute("UPDATE members SET verified_photo_jpeg = ?, verified_photo_at = ?, "
                     "photo_jpeg = CASE WHEN photo_source = 'verified' THEN ? ELSE photo_jpeg END "
                     "WHERE certificate_id = ?", (jpeg, iso(now), jpeg, row["id"]))
        audit.append(conn, now=now, actor="admin", action="member_photo_uploaded", subject=row["certificate_no"],
                     sha256=hashlib.sha256(jpeg).hexdigest())
    return {"certificate_no": row["certificate_no"], "width": width, "height": height, "bytes": len(jpeg)}


def choose_photo(store: Store, row: dict, source: str, now: datetime) -> dict:
    exam_path = Path(row["photo"]) if row["photo"] else None
    member_rules.check_photo_choice(source, row["exam_pass_year"],
                                    has_exam_photo=exam_path is not None and exam_path.is_file(),
                                    has_verified_photo=bool(row["has_verified_photo"]))
    exam_jpeg = normalize_photo(read_photo_file(exam_path))[0] if source == member_rules.PHOTO_EXAM else None
    with store.transaction() as conn:
        if exam_jpeg is not None:
            conn.execute("UPDATE members SET photo_source = 'exam', photo_jpeg = ? WHERE certificate_id = ?",
                         (exam_jpeg, row["id"]))
        else:
            conn.execute("UPDATE members SET photo_source = 'verified', photo_jpeg = verified_photo_jpeg "
                         "WHERE certificate_id = ?", (row["id"],))
        audit.append(conn, now=now, actor=f"member:{row['account_id']}", action="member_photo_chosen",
                     subject=row["certificate_no"], source=source)
    return {"certificate_no": row["certificate_no"], "source": source, "at": iso(now)}


# --- personal details --------------------------------------------------------------------

def confirm_details(store: Store, row: dict, *, mobile: str | None, email: str | None, birth_date: date | None,
                    now: datetime) -> dict:
    """The member confirms, completing or correcting, birth date, mobile and email."""
    details = personal_details(row)
    try:
        if mobile is not None:
            details["mobile"] = member_rules.normalize_mobile(mobile)
        if email is not None:
            details["email"] = member_rules.normalize_email(email)
        if birth_date is not None:
            details["birth_date"] = member_rules.check_birth_date(birth_date, rules.cst_day(now)).isoformat()
    except ValueError as problem:
        name = str(problem)
        raise BadInput(field=f"--{name.replace('_', '-')}", reason="birth_date" if name == "birth_date" else "format",
                       value={"mobile": mobile, "email": email, "birth_date": birth_date}.get(name)) from None
    missing = member_rules.missing_details(details)
    if missing:
        raise DetailsIncomplete(missing=missing)
    with store.transaction() as conn:
        conn.execute("UPDATE certificates SET birth_date = ?, mobile = ?, email = ? WHERE id = ?",
                     (details["birth_date"], details["mobile"], details["email"], row["id"]))
        conn.execute("UPDATE members SET details_confirmed_at = ? WHERE certificate_id = ?", (iso(now), row["id"]))
        # which details changed, never their values: the log is not a second copy of personal data
        changed = sorted(k for k in details if details[k] != personal_details(row)[k])
        audit.append(conn, now=now, actor=f"member:{row['account_id']}", action="member_details_confirmed",
                     subject=row["certificate_no"], changed=changed)
    return {"certificate_no": row["certificate_no"], "details": details, "confirmed_at": iso(now)}


# --- download requests ---------------------------------------------------------------------

def _transfers_text(records: list[dict]) -> str:
    """The most recent transfers that fit in one QR field, oldest first."""
    parts: list[str] = []
    for record in reversed(records):
        part = f"{record['transferred_on']} {record['from_region'] or '?'}→{record['to_region']}"
        if len("; ".join([part, *parts]).encode()) > MAX_QR_VALUE_BYTES:
            break
        parts.insert(0, part)
    return "; ".join(parts)


def disclosed_details(store: Store, row: dict, keys: tuple[str, ...], now: datetime) -> list[list[str]]:
    """The (key, value) pairs the member chose to show, for those that have a value."""
    details = personal_details(row)
    values = {"approval_no": row["approval_no"], **details}
    if "inspection" in keys:
        latest = inspections(store, row, now)["latest_passed"]
        values["inspection"] = str(latest) if latest else None
    if "transfers" in keys:
        values["transfers"] = _transfers_text(transfers(store, row["id"])) or None
    return [[key, _fit(values[key])] for key in keys if values.get(key)]


def _fit(value: str) -> str:
    while len(value.encode()) > MAX_QR_VALUE_BYTES:
        value = value[:-1]
    return value


def request_document(store: Store, row: dict, reveal: tuple[str, ...], now: datetime) -> tuple[bytes, dict]:
    """The signed member PDF with exactly these details disclosed, or DocumentPending
    after recording the request that ``admin process`` completes."""
    member_rules.check_ready_for_download(photo_chosen=bool(row["has_photo"]),
                                          details_confirmed=row["details_confirmed_at"] is not None)
    disclosed = disclosed_details(store, row, reveal, now)
    with store.transaction() as conn:
        photo = store.one("SELECT photo_jpeg FROM members WHERE certificate_id = ?", (row["id"],))["photo_jpeg"]
        key = hashlib.sha256(json.dumps([disclosed, hashlib.sha256(photo).hexdigest(), row["name"],
                                         row["qualification"], row["level"], row["issuer"], row["issued_on"],
                                         row["seal_id"]], ensure_ascii=False).encode()).hexdigest()
        existing = store.one("SELECT d.document_no, d.status, d.reveal, d.completed_at, p.pdf FROM member_documents d "
                             "LEFT JOIN documents p ON p.sha256 = d.document_sha256 WHERE d.certificate_id = ? "
                             "AND d.content_key = ? AND d.status IN ('pending', 'completed') ORDER BY d.id DESC "
                             "LIMIT 1", (row["id"], key))
        if existing is None:
            today = rules.cst_day(now)
            row_id = conn.execute(
                "INSERT INTO member_documents (certificate_id, content_key, reveal, disclosed, photo_jpeg, "
                "requested_at, status) VALUES (?, ?, ?, ?, ?, ?, 'pending') RETURNING id",
                (row["id"], key, ",".join(reveal), json.dumps(disclosed, ensure_ascii=False), photo,
                 iso(now))).fetchall()[0][0]
            number = f"MD{today:%Y%m%d}{row_id:06d}"
            conn.execute("UPDATE member_documents SET document_no = ? WHERE id = ?", (number, row_id))
            audit.append(conn, now=now, actor=f"member:{row['account_id']}", action="member_document_requested",
                         subject=row["certificate_no"], document_no=number, reveal=list(reveal))
            existing = {"document_no": number, "status": "pending"}
    if existing["status"] != "completed":
        raise DocumentPending(certificate_no=row["certificate_no"], document_no=existing["document_no"])
    return existing["pdf"], {"document_no": existing["document_no"], "disclosed": dict(disclosed),
                             "completed_at": existing["completed_at"]}


# --- processing (administrator side) ---------------------------------------------------------

def _title(qualification: str) -> str:
    return qualification if qualification.endswith("证书") else qualification + "证书"


def member_page(job: dict) -> PageData:
    """What a member certificate shows: the rows a member certificate has (no level, no
    annotation box: neither applies to a membership), its approval number, the details the
    member disclosed (the annual inspection among them) as rows, the photo, and a QR code
    whose signed payload carries only the disclosed details."""
    disclosed = tuple((k, v) for k, v in json.loads(job["disclosed"]))
    approval_no = job.get("approval_no") or dict(disclosed).get("approval_no")
    rows = ((DETAIL_LABELS["approval_no"], approval_no),) if approval_no else ()
    rows += tuple((DETAIL_LABELS[k], f"{v} 年度" if k == "inspection" else v)
                  for k, v in disclosed if k != "approval_no")
    return PageData(certificate_no=job["certificate_no"], name=job["name"], id_type=job["id_type"],
                    id_number=job["id_number"], qualification=job["qualification"], level=None,
                    specialty=job["specialty"] or None, issued_on=job["issued_on"], issuer=job["issuer"],
                    seal=job["seal"], seal_id=job["seal_id"], photo_jpeg=job["photo_jpeg"],
                    title=_title(job["qualification"]), rows=rows, disclosed=disclosed, qr_kind="m",
                    annotation_box=False)


def fail_requests_of_revoked(store: Store) -> None:
    """Nothing may be signed for a revoked certificate: its pending requests fail."""
    with store.transaction() as conn:
        conn.execute("UPDATE member_documents SET status = 'failed', failure_reason = 'certificate_revoked' "
                     "WHERE status = 'pending' AND certificate_id IN "
                     "(SELECT id FROM certificates WHERE status = 'revoked')")


def pending_member_pages(store: Store, limit: int | None = None, *,
                         claimed_by: str | None = None) -> list[tuple[int, PageData]]:
    """``(request id, page)`` of every pending member document of a valid
    certificate, oldest first (with ``claimed_by``: only those that claim token holds,
    certcli.certificates.claims); ``admin process`` (certcli.certificates.processing)
    renders, signs and records them with the annotation documents."""
    sql = ("SELECT d.id, d.disclosed, d.photo_jpeg, c.certificate_no, c.name, c.id_type, c.id_number, "
           "c.qualification, c.level, c.specialty, c.issued_on, c.issuer, c.seal, c.seal_id, c.approval_no "
           "FROM member_documents d JOIN certificates c ON c.id = d.certificate_id "
           "WHERE d.status = 'pending' AND c.status = 'valid'" + (" AND d.claimed_by = ?" if claimed_by else "")
           + " ORDER BY d.id")
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return [(job["id"], member_page(job)) for job in store.all(sql, (claimed_by,) if claimed_by else ())]
