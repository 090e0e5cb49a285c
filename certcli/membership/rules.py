"""Pure rules for membership e-certificates (SPEC §3, seed 003).

Standard library only; the clock is passed in.  Violations raise the typed
errors of :mod:`certcli.errors`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from certcli.errors import (
    DetailsNotConfirmed,
    PhotoMissing,
    PhotoNotChosen,
    PhotoNotAllowed,
    ReviewClosed,
    ReviewOutOfOrder,
)

KIND_QUALIFICATION, KIND_MEMBERSHIP = "qualification", "membership"
KIND_ALIASES = {"": KIND_QUALIFICATION, "qualification": KIND_QUALIFICATION, "资格": KIND_QUALIFICATION,
                "职业资格": KIND_QUALIFICATION, "membership": KIND_MEMBERSHIP, "member": KIND_MEMBERSHIP,
                "会员": KIND_MEMBERSHIP, "会员证": KIND_MEMBERSHIP, "非执业会员": KIND_MEMBERSHIP}

# Members who passed the exam in 2010 or later may reuse the exam-system photo;
# earlier ones need a photo checked on site and uploaded by their association.
EXAM_PHOTO_FROM_YEAR = 2010
# Electronic membership certificates from 2021-01-01; paper ones issued before
# that lose validity on 2025-12-31 ("自2025年12月31日起失效": that day is already invalid).
ELECTRONIC_FROM = date(2021, 1, 1)
PAPER_INVALID_FROM = date(2025, 12, 31)
EARLIEST_PASS_YEAR = 1991  # the first national CPA exam

# --- two-stage review ---------------------------------------------------------

STAGES = ("local", "national")
PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"


@dataclass(frozen=True)
class Review:
    local: str = PENDING
    national: str = PENDING

    @property
    def approved(self) -> bool:
        return self.local == APPROVED and self.national == APPROVED

    @property
    def progress(self) -> str:
        """One word for where the application stands."""
        if self.local != APPROVED:
            return "awaiting_local" if self.local == PENDING else "rejected_local"
        if self.national != APPROVED:
            return "awaiting_national" if self.national == PENDING else "rejected_national"
        return "approved"


def check_review(review: Review, stage: str, approve: bool) -> Review:
    """The review after deciding ``stage``.  The local association reviews first,
    the national one second; a rejected stage may be reviewed again (after the
    applicant corrected the application), an approved membership is final."""
    if stage not in STAGES:
        raise ValueError(stage)
    if review.approved:
        raise ReviewClosed(stage=stage, progress=review.progress)
    decision = APPROVED if approve else REJECTED
    if stage == "local":
        if review.local == APPROVED:  # the national association has it now
            raise ReviewClosed(stage=stage, progress=review.progress)
        return Review(local=decision, national=PENDING)
    if review.local != APPROVED:
        raise ReviewOutOfOrder(stage=stage, required_stage="local", progress=review.progress)
    return Review(local=review.local, national=decision)


# --- photo and personal details -------------------------------------------------

PHOTO_EXAM, PHOTO_VERIFIED = "exam", "verified"


def may_reuse_exam_photo(exam_pass_year: int | None) -> bool:
    return exam_pass_year is not None and exam_pass_year >= EXAM_PHOTO_FROM_YEAR


def check_photo_choice(source: str, exam_pass_year: int | None, *, has_exam_photo: bool,
                       has_verified_photo: bool) -> None:
    if source == PHOTO_EXAM:
        if not may_reuse_exam_photo(exam_pass_year):
            raise PhotoNotAllowed(exam_pass_year=exam_pass_year or "?", from_year=EXAM_PHOTO_FROM_YEAR)
        if not has_exam_photo:
            raise PhotoMissing(source=PHOTO_EXAM)
    elif source == PHOTO_VERIFIED:
        if not has_verified_photo:
            raise PhotoMissing(source=PHOTO_VERIFIED)
    else:
        raise ValueError(source)


REQUIRED_DETAILS = ("birth_date", "mobile", "email")


def missing_details(details: dict) -> list[str]:
    return [key for key in REQUIRED_DETAILS if not details.get(key)]


def check_ready_for_download(*, photo_chosen: bool, details_confirmed: bool) -> None:
    """Both steps come before download; the refusal names the first missing one
    and lists every missing one in its data."""
    missing = [step for step, done in (("photo", photo_chosen), ("details", details_confirmed)) if not done]
    if missing:
        raise (PhotoNotChosen if missing[0] == "photo" else DetailsNotConfirmed)(missing=missing)


_MOBILE = re.compile(r"^(?:\+?86)?1[3-9]\d{9}$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63})+$")


def normalize_mobile(text: str) -> str:
    """Mainland mobile numbers: 11 digits starting 13–19, an optional +86 dropped."""
    compact = re.sub(r"[\s\-]", "", text or "")
    if not _MOBILE.match(compact):
        raise ValueError("mobile")
    return compact[-11:]


def normalize_email(text: str) -> str:
    value = (text or "").strip()
    if len(value) > 120 or not _EMAIL.match(value):
        raise ValueError("email")
    return value


def check_birth_date(day: date, today: date) -> date:
    if not date(1900, 1, 1) <= day <= today:
        raise ValueError("birth_date")
    return day


def birth_date_from_resident_id(id_type: str, id_number: str) -> date | None:
    if id_type != "resident_id" or len(id_number) != 18:
        return None
    try:
        return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except ValueError:
        return None


def check_pass_year(text: str, today: date) -> int:
    if not re.fullmatch(r"\d{4}", text or "") or not EARLIEST_PASS_YEAR <= int(text) <= today.year:
        raise ValueError("exam_pass_year")
    return int(text)


# --- paper member certificates and annual inspections --------------------------

def had_paper_certificate(approved_on: date) -> bool:
    """Members approved before 2021 received paper certificates; later ones only electronic."""
    return approved_on < ELECTRONIC_FROM


def paper_certificate_state(approved_on: date, today: date) -> str:
    """none (electronic only) | valid | invalid."""
    if not had_paper_certificate(approved_on):
        return "none"
    return "invalid" if today >= PAPER_INVALID_FROM else "valid"


def latest_passed_inspection(passed_years) -> int | None:
    return max(passed_years, default=None)


def inspection_overdue(passed_years, approved_on: date, today: date) -> bool:
    """Flag (not invalidate) a member with no pass for last year, once a whole
    year of membership lay behind them."""
    last_year = today.year - 1
    return approved_on.year < last_year and last_year not in set(passed_years)


# --- what the QR code discloses --------------------------------------------------

DISCLOSABLE = ("approval_no", "birth_date", "mobile", "email", "inspection", "transfers")
PRIVATE = frozenset({"birth_date", "mobile", "email"})
DEFAULT_REVEAL = tuple(k for k in DISCLOSABLE if k not in PRIVATE)


def parse_reveal(text: str | None) -> tuple[str, ...]:
    """``mobile,email`` → the keys in canonical order; ``none``/``all``; default: no private detail."""
    if text is None:
        return DEFAULT_REVEAL
    words = {w.strip().lower().replace("-", "_") for w in text.split(",") if w.strip()}
    if words <= {"none"}:
        return ()
    if words == {"all"}:
        return DISCLOSABLE
    unknown = sorted(words - set(DISCLOSABLE))
    if unknown:
        raise ValueError(",".join(unknown))
    return tuple(k for k in DISCLOSABLE if k in words)


# --- roster columns for members ---------------------------------------------------

class FieldProblem(ValueError):
    """A roster value that cannot be stored: args are (reason, field, detail)."""


def roster_member_fields(kind_text: str, birth_text: str, mobile: str, email: str, year_text: str,
                         today: date, parse_day) -> tuple:
    """(kind, birth_date ISO, mobile, email, exam_pass_year) from roster text, or FieldProblem."""
    kind = KIND_ALIASES.get(kind_text.lower())
    if kind is None:
        raise FieldProblem("invalid_kind", "kind", kind_text[:20])
    try:
        birth = check_birth_date(parse_day(birth_text), today).isoformat() if birth_text else None
    except ValueError:
        raise FieldProblem("invalid_date", "birth_date", birth_text[:20]) from None
    try:
        mobile = normalize_mobile(mobile) if mobile else None
    except ValueError:
        raise FieldProblem("invalid_mobile", "mobile", "") from None
    try:
        email = normalize_email(email) if email else None
    except ValueError:
        raise FieldProblem("invalid_email", "email", "") from None
    try:
        year = check_pass_year(year_text, today) if year_text else None
    except ValueError:
        raise FieldProblem("invalid_year", "exam_pass_year", year_text[:20]) from None
    return kind, birth, mobile, email, year


QUALIFICATION_FIELDS = (KIND_QUALIFICATION, None, None, None, None)
