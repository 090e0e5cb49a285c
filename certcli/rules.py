"""Pure domain rules (SPEC §2).

No I/O, no clock: every function that depends on time takes ``now`` (or a day)
from the caller.  Only the standard library is imported (with :mod:`certcli.days`, the
CST calendar, itself standard library only), so the rules can be
read, tested and reused on their own.  Violations raise the typed errors of
:mod:`certcli.errors`, which carry the data a message needs.
"""
from __future__ import annotations

import re
from operator import mul
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Iterable

from certcli.days import CST, cst_day, valid_through  # noqa: F401 - part of the rules
from certcli.errors import (
    AccountLocked,
    BadInput,
    InvalidIdNumber,
    QuotaExceeded,
    ValidityOutOfRange,
)

MIN_ANNOTATION_DAYS = 1
MAX_ANNOTATION_DAYS = 90
DEFAULT_ANNOTATION_DAYS = 90
QUOTA_WINDOW_DAYS = 90
QUOTA_LIMIT = 3
PROCESSING_PROMISE = timedelta(hours=24)
EXEMPTION_CUTOFF = date(2021, 12, 17)
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
SESSION_IDLE_LIMIT = timedelta(hours=8)

# Annotation states as a holder sees them.
NONE, PENDING, ACTIVE, EXPIRED = "none", "pending", "active", "expired"
VOID = "void"   # R8: on a revoked certificate no annotation is in force or coming, whatever its dates say
COUNTED_STATUSES = ("pending", "completed")


def start_of_day(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=CST)


# --- R2 validity -----------------------------------------------------------

def check_validity_days(days: int) -> int:
    if not MIN_ANNOTATION_DAYS <= days <= MAX_ANNOTATION_DAYS:
        raise ValidityOutOfRange(days=days, min=MIN_ANNOTATION_DAYS, max=MAX_ANNOTATION_DAYS)
    return days


def valid_until(applied_day: date, days: int) -> datetime:
    """An annotation applied on day D for N days is usable until the start of D+N (exclusive)."""
    check_validity_days(days)
    return start_of_day(applied_day + timedelta(days=days))


def last_usable_day(applied_day: date, days: int) -> date:
    return applied_day + timedelta(days=days - 1)


@dataclass(frozen=True)
class AnnotationRecord:
    """What the rules need to know about one stored annotation."""

    status: str  # pending | completed | failed | cancelled
    applied_at: datetime
    valid_until: datetime


def annotation_state(record: AnnotationRecord | None, now: datetime) -> str:
    if record is None or record.status not in COUNTED_STATUSES:
        return NONE
    if now >= record.valid_until:
        return EXPIRED
    return PENDING if record.status == "pending" else ACTIVE


def annotation_state_of_revoked(state: str) -> str:
    """R8: what revocation leaves of a state: one in force or still coming is void; an expired
    or never counted one stays what it was (the history stays true)."""
    return VOID if state in (ACTIVE, PENDING) else state


# --- R3 quota --------------------------------------------------------------

def quota_window(day: date) -> tuple[date, date]:
    """The days counted for an application on ``day``: D-89 … D, both included."""
    return day - timedelta(days=QUOTA_WINDOW_DAYS - 1), day


def counted_days(application_days: Iterable[date], day: date) -> list[date]:
    first, last = quota_window(day)
    return sorted(d for d in application_days if first <= d <= last)


def check_quota(application_days: Iterable[date], day: date) -> None:
    """Refuse a new application on ``day`` if the window already holds the limit.

    ``application_days`` are the days of counted (pending or completed)
    applications of one certificate.  The refusal names the first day on
    which the window will have room again: the day the oldest application
    that must drop out of the window falls out of it.
    """
    counted = counted_days(application_days, day)
    if len(counted) >= QUOTA_LIMIT:
        must_leave = counted[-QUOTA_LIMIT]
        raise QuotaExceeded(
            first_accepted_day=must_leave + timedelta(days=QUOTA_WINDOW_DAYS),
            counted_days=tuple(counted),
        )


def quota_remaining(application_days: Iterable[date], day: date) -> int:
    return max(0, QUOTA_LIMIT - len(counted_days(application_days, day)))


# --- R4 processing ---------------------------------------------------------

def is_overdue(applied_at: datetime, now: datetime) -> bool:
    return now - applied_at > PROCESSING_PROMISE


# --- R6 exemption ----------------------------------------------------------

def is_exempt(seal: str, issued_on: date) -> bool:
    """Association-sealed certificates issued before 2021-12-17 need no annotation."""
    return seal == "association" and issued_on < EXEMPTION_CUTOFF


# --- R10 identity documents ------------------------------------------------

ID_TYPES = ("resident_id", "passport", "hk_macao_permit", "taiwan_permit", "foreign_permanent", "other")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_RESIDENT_ID = re.compile(r"^[0-9]{17}[0-9X]$")  # ASCII only: \d would admit other scripts' digits
_OTHER_ID = re.compile(r"^[A-Z0-9][A-Z0-9\-]{3,23}$")


def resident_id_check_char(first17: str) -> str:
    """GB 11643 check character (ISO 7064 MOD 11-2)."""
    if not _digit_sums:
        _build_digit_sums()
    try:
        t0, t1, t2, t3, t4, t5 = _digit_sums
        total = (t0[first17[0:3]] + t1[first17[3:6]] + t2[first17[6:9]] + t3[first17[9:12]]
                 + t4[first17[12:15]] + t5[first17[15:17]])
        return _ID_CHECK[total % 11]
    except KeyError:  # not 17 ASCII digits: the plain sum raises or answers as before
        pass
    total = sum(map(mul, map(int, first17), _ID_WEIGHTS))
    return _ID_CHECK[total % 11]


# Weighted sums of each 3-digit group of the first 17 digits: a roster import checks
# a million numbers, and six lookups are three times faster than 17 multiplications.
_digit_sums: list[dict[str, int]] = []


def _build_digit_sums() -> None:
    tables = []
    for start in range(0, 17, 3):
        width = min(3, 17 - start)
        weights = _ID_WEIGHTS[start:start + width]
        tables.append({f"{n:0{width}d}": sum(map(mul, map(int, f"{n:0{width}d}"), weights))
                       for n in range(10 ** width)})
    _digit_sums[:] = tables


_valid_birth_days: set[str] = set()  # "YYYYMMDD" already checked, bounded below


def _is_birth_day(text: str) -> bool:
    if text in _valid_birth_days:
        return True
    try:
        date(int(text[0:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return False
    if len(_valid_birth_days) < 100_000:
        _valid_birth_days.add(text)
    return True


def normalize_id_number(id_type: str, number: str) -> str:
    """Validate an ID number for its document type and return its canonical form."""
    if id_type not in ID_TYPES:
        raise InvalidIdNumber(reason="unknown_id_type", id_type=id_type)
    canonical = (number or "").strip().upper()
    if not canonical.isascii():
        import unicodedata

        # full-width digits and letters, as Chinese input methods type them: １１０…Ｘ
        canonical = unicodedata.normalize("NFKC", canonical).strip().upper()
    if id_type == "resident_id":
        if not _RESIDENT_ID.match(canonical):
            raise InvalidIdNumber(reason="format", id_type=id_type)
        if resident_id_check_char(canonical[:17]) != canonical[17]:
            raise InvalidIdNumber(reason="check_character", id_type=id_type)
        if not _is_birth_day(canonical[6:14]):
            raise InvalidIdNumber(reason="birth_date", id_type=id_type)
        return canonical
    if not _OTHER_ID.match(canonical):
        raise InvalidIdNumber(reason="format", id_type=id_type)
    return canonical


def mask_id_number(number: str) -> str:
    if len(number) <= 8:
        return number[:1] + "*" * max(0, len(number) - 2) + number[-1:]
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_name(name: str) -> str:
    return name[:1] + "*" * max(1, len(name) - 1) if name else name


# --- Names (R10: register with the details under which the certificate was obtained) ---
# Rosters hold names of every kind: Chinese (王小明, 吉𠮷), minority and foreign names with a
# middle dot (阿依古丽·买买提), Latin names with spaces (John Smith, O'Neil).  A name is
# stored as normalize_name gives it; two names are the same name when their name_key is.

MAX_NAME_LENGTH = 200  # what a roster field may hold
# the middle dot as different keyboards and input methods type it
_MIDDLE_DOTS = str.maketrans(dict.fromkeys("・･•‧∙⋅．", "·"))
_AROUND_DOT = re.compile(r"\s*·\s*")
_BETWEEN_HAN = re.compile(r"(?<=[\u3400-\u9fff\U00020000-\U0003134f]) (?=[\u3400-\u9fff\U00020000-\U0003134f])")


def normalize_name(name: str) -> str:
    """A name as the roster stores it: Unicode NFC, runs of white space (full-width
    ones too) as one space, none at either end."""
    import unicodedata

    return " ".join(unicodedata.normalize("NFC", name or "").split())


def name_key(name: str) -> str:
    """What two names must share to be the same name: :func:`normalize_name`, full-width
    letters as plain ones (NFKC), one middle dot for its look-alikes, no space around a
    middle dot or between two Chinese characters, and Latin letters without case."""
    import unicodedata

    key = unicodedata.normalize("NFKC", normalize_name(name)).translate(_MIDDLE_DOTS)
    key = _BETWEEN_HAN.sub("", _AROUND_DOT.sub("·", " ".join(key.split())))
    return key.casefold()


def check_name(name: str) -> str:
    """A name a holder may register with (any the roster accepts): at most 200 characters
    once normalised, at least one letter, no control characters.  Returns it normalised."""
    import unicodedata

    normal = normalize_name(name)
    if not normal:
        raise BadInput(field="--name", reason="required")
    if len(normal) > MAX_NAME_LENGTH:
        raise BadInput(field="--name", reason="too_long", value=normal[:20] + "…")
    if any(unicodedata.category(c) in ("Cc", "Cs", "Co", "Cn") for c in normal) or \
            not any(unicodedata.category(c).startswith("L") for c in normal):
        raise BadInput(field="--name", reason="invalid_name", value=normal[:MAX_NAME_LENGTH])
    return normal


# --- Accounts --------------------------------------------------------------

def check_not_locked(locked_until: datetime | None, now: datetime) -> None:
    if locked_until is not None and now < locked_until:
        raise AccountLocked(until=locked_until)


def after_failed_login(failed_count: int, now: datetime) -> tuple[int, datetime | None]:
    """The new (failed_count, locked_until) after one more bad password."""
    failed_count += 1
    if failed_count >= MAX_FAILED_LOGINS:
        return 0, now + LOCKOUT
    return failed_count, None


def session_expired(last_seen_at: datetime, now: datetime) -> bool:
    return now - last_seen_at >= SESSION_IDLE_LIMIT


# --- Public oracles: the cost of a guess (issue 12) ---------------------------
# ``member status`` (no login) and ``verify --number --name`` answer whether some
# details match a record.  Each miss counts against every key the guess names
# (a name, an ID number, a certificate number); a key with MAX_MISSED_GUESSES
# misses inside GUESS_WINDOW refuses every further guess, hit or miss, for
# GUESS_LOCKOUT, doubled at each new lockout (strike) up to MAX_GUESS_LOCKOUT.
# Strikes are forgotten after GUESS_MEMORY without a miss once the last lockout ended.

MAX_MISSED_GUESSES = MAX_FAILED_LOGINS
GUESS_WINDOW = timedelta(minutes=15)
GUESS_LOCKOUT = LOCKOUT
MAX_GUESS_LOCKOUT = timedelta(hours=24)
GUESS_MEMORY = timedelta(hours=24)


@dataclass(frozen=True)
class GuessState:
    """The misses recorded against one key."""

    misses: int = 0                        # inside the current window
    window_start: datetime | None = None   # the first miss of the current window
    locked_until: datetime | None = None   # the last lockout's end (kept after it passed)
    strikes: int = 0                       # lockouts so far (the next one lasts twice as long)
    last_miss_at: datetime | None = None


def guess_locked_until(state: GuessState, now: datetime) -> datetime | None:
    """The end of the lockout in force at ``now``, or None."""
    return state.locked_until if state.locked_until is not None and now < state.locked_until else None


def guess_lockout(strikes: int) -> timedelta:
    """How long the ``strikes``-th lockout lasts: 15 min, 30 min, 1 h, … at most 24 h."""
    return min(GUESS_LOCKOUT * 2 ** min(max(strikes - 1, 0), 16), MAX_GUESS_LOCKOUT)


def after_missed_guess(state: GuessState, now: datetime) -> GuessState:
    """The key's state after one more miss at ``now`` (only counted when not locked)."""
    quiet_since = max((t for t in (state.locked_until, state.last_miss_at) if t is not None), default=None)
    strikes = state.strikes if quiet_since is not None and now - quiet_since < GUESS_MEMORY else 0
    in_window = state.window_start is not None and now - state.window_start < GUESS_WINDOW
    misses, start = (state.misses, state.window_start) if in_window else (0, now)
    misses += 1
    if misses >= MAX_MISSED_GUESSES:
        strikes += 1
        return GuessState(0, None, now + guess_lockout(strikes), strikes, now)
    return GuessState(misses, start, state.locked_until, strikes, now)


# --- Seal and root certificates over their life (issues 12, 16) ----------------
# ``admin process`` signs only with a seal certificate in force now and for
# SIGNING_MARGIN more (an annotation is used for up to MAX_ANNOTATION_DAYS), so a
# seal closer to its end is rotated first, and its key's list of what it signed is
# final from then on.  After the certificate ends, a document stays valid only by
# the chain model (:func:`chain_standing`).  ``admin stats`` warns EXPIRY_WARNING ahead.

SIGNING_MARGIN = timedelta(days=MAX_ANNOTATION_DAYS + 1)
EXPIRY_WARNING = timedelta(days=180)


def signing_problem(not_before: datetime, not_after: datetime, now: datetime) -> str | None:
    """Why a certificate valid ``not_before`` … ``not_after`` may not sign at ``now``:
    ``not_yet_valid`` (the clock is before its start), ``expiring`` (it has ended, or
    ends within SIGNING_MARGIN), or None: it may."""
    if now < not_before:
        return "not_yet_valid"
    if now + SIGNING_MARGIN > not_after:
        return "expiring"
    return None


def usable_for_signing(not_before: datetime, not_after: datetime, now: datetime) -> bool:
    """May a certificate valid ``not_before`` … ``not_after`` sign a document at ``now``?"""
    return signing_problem(not_before, not_after, now) is None


def expiry_warning(not_after: datetime, now: datetime) -> int | None:
    """Whole days left (negative once expired) when a certificate ends within
    EXPIRY_WARNING of ``now`` or has ended; None when it is further off."""
    if not_after - now > EXPIRY_WARNING:
        return None
    return (not_after - now).days


def chain_standing(not_before: datetime, not_after: datetime, now: datetime, *, recorded: bool,
                   signed_at: datetime | None = None) -> str:
    """The chain model (issue 16): does a signature by a certificate valid ``not_before`` …
    ``not_after`` (exclusive) count at ``now``?  ``not_yet_valid``; ``in_force``;
    ``signed_while_valid`` (it has ended, but the document is ``recorded`` in the key's list
    of what it legitimately signed, the issuer's registry or the key's ledger in a signed
    trust bundle, and its signing time, when known, lies inside the validity): still valid;
    else ``expired``.  A claimed signing time alone never counts: the key's holder writes it."""
    if now < not_before:
        return "not_yet_valid"
    if now < not_after:
        return "in_force"
    if recorded and (signed_at is None or not_before <= signed_at < not_after):
        return "signed_while_valid"
    return "expired"


def root_vouches(root_not_after: datetime, now: datetime, bundle_issued_at: datetime | None) -> bool:
    """May a trust bundle still vouch, at ``now``, for what its root's seals signed?  While
    the root is in force, yes; after it has ended, only a bundle the root signed while in
    force (``issued_at`` before its end): a root key that has ended is no longer kept, so
    whatever it signs later proves nothing."""
    return now < root_not_after or (bundle_issued_at is not None and bundle_issued_at < root_not_after)
