"""R2, R3, R4, R6, R10 at their boundaries, plus properties of the quota."""
from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certcli import rules
from certcli.errors import InvalidIdNumber, QuotaExceeded, ValidityOutOfRange

CST = rules.CST


def cst(*args) -> datetime:
    return datetime(*args, tzinfo=CST)


def test_rules_import_only_the_standard_library():
    code = (
        "import sys, certcli.rules; "
        "bad = [m for m in ('sqlite_utils', 'typer', 'rich', 'cryptography', 'pyhanko', 'reportlab') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


# --- R2 -------------------------------------------------------------------

@pytest.mark.parametrize("days", [1, 2, 89, 90])
def test_validity_inside_range(days):
    assert rules.check_validity_days(days) == days


@pytest.mark.parametrize("days", [0, -1, 91, 365])
def test_validity_outside_range(days):
    with pytest.raises(ValidityOutOfRange) as info:
        rules.check_validity_days(days)
    assert info.value.data["days"] == days


def test_valid_until_is_start_of_day_d_plus_n_in_cst():
    assert rules.valid_until(date(2026, 3, 1), 90) == cst(2026, 5, 30)
    assert rules.valid_until(date(2026, 3, 1), 1) == cst(2026, 3, 2)
    assert rules.last_usable_day(date(2026, 3, 1), 1) == date(2026, 3, 1)


def test_expiry_instant_exclusive():
    until = rules.valid_until(date(2026, 3, 1), 1)
    record = rules.AnnotationRecord("completed", cst(2026, 3, 1, 9), until)
    assert rules.annotation_state(record, cst(2026, 3, 1, 23, 59, 59)) == rules.ACTIVE
    assert rules.annotation_state(record, cst(2026, 3, 2, 0, 0, 0)) == rules.EXPIRED
    # 2026-03-01T16:00Z is midnight in CST: already expired although it is still the 1st in UTC.
    assert rules.annotation_state(record, datetime(2026, 3, 1, 16, 0, tzinfo=timezone.utc)) == rules.EXPIRED
    assert rules.annotation_state(record, datetime(2026, 3, 1, 15, 59, 59, tzinfo=timezone.utc)) == rules.ACTIVE


def test_states_pending_none_failed():
    until = rules.valid_until(date(2026, 3, 1), 30)
    assert rules.annotation_state(None, cst(2026, 3, 1)) == rules.NONE
    pending = rules.AnnotationRecord("pending", cst(2026, 3, 1, 9), until)
    assert rules.annotation_state(pending, cst(2026, 3, 1, 10)) == rules.PENDING
    failed = rules.AnnotationRecord("failed", cst(2026, 3, 1, 9), until)
    assert rules.annotation_state(failed, cst(2026, 3, 1, 10)) == rules.NONE


def test_cst_day_boundary():
    assert rules.cst_day(datetime(2026, 3, 1, 15, 59, 59, tzinfo=timezone.utc)) == date(2026, 3, 1)
    assert rules.cst_day(datetime(2026, 3, 1, 16, 0, 0, tzinfo=timezone.utc)) == date(2026, 3, 2)
    with pytest.raises(ValueError):
        rules.cst_day(datetime(2026, 3, 1))


# --- R3 -------------------------------------------------------------------

def test_quota_allows_three_then_refuses_with_first_accepted_day():
    days = [date(2026, 1, 1), date(2026, 1, 10), date(2026, 2, 1)]
    rules.check_quota(days[:2], date(2026, 2, 1))
    with pytest.raises(QuotaExceeded) as info:
        rules.check_quota(days, date(2026, 2, 2))
    assert info.value.first_accepted_day == date(2026, 4, 1)  # 2026-01-01 + 90
    assert info.value.code == "quota_exceeded"


def test_quota_window_boundary_day_89_counts_day_90_does_not():
    d = date(2026, 6, 1)
    three = [d - timedelta(days=89), d - timedelta(days=10), d - timedelta(days=1)]
    with pytest.raises(QuotaExceeded):
        rules.check_quota(three, d)  # D-89 still inside
    shifted = [d - timedelta(days=90), d - timedelta(days=10), d - timedelta(days=1)]
    rules.check_quota(shifted, d)  # D-90 fell out
    assert rules.quota_window(d) == (d - timedelta(days=89), d)


def test_quota_counts_the_application_day_itself():
    d = date(2026, 6, 1)
    with pytest.raises(QuotaExceeded):
        rules.check_quota([d, d, d], d)
    assert rules.quota_remaining([d, d], d) == 1


def _simulate(attempt_days):
    accepted, refusals = [], []
    for day in attempt_days:
        try:
            rules.check_quota(accepted, day)
        except QuotaExceeded as refusal:
            refusals.append((day, refusal.first_accepted_day, list(accepted)))
        else:
            accepted.append(day)
    return accepted, refusals


attempts = st.lists(st.integers(min_value=0, max_value=400), min_size=1, max_size=60).map(
    lambda offsets: [date(2026, 1, 1) + timedelta(days=o) for o in sorted(offsets)]
)


@settings(max_examples=300, deadline=None)
@given(attempts)
def test_no_window_ever_holds_more_than_three(attempt_days):
    accepted, _ = _simulate(attempt_days)
    for day in set(accepted):
        assert len(rules.counted_days(accepted, day)) <= rules.QUOTA_LIMIT


@settings(max_examples=300, deadline=None)
@given(attempts)
def test_every_refusal_names_a_day_that_is_really_accepted(attempt_days):
    _, refusals = _simulate(attempt_days)
    for day, first_ok, history in refusals:
        assert first_ok > day
        rules.check_quota(history, first_ok)  # accepted on that day
        with pytest.raises(QuotaExceeded):  # and it is the first such day
            rules.check_quota(history, first_ok - timedelta(days=1))


# --- R4, R6 ---------------------------------------------------------------

def test_overdue_after_24_hours():
    applied = cst(2026, 3, 1, 10)
    assert not rules.is_overdue(applied, applied + timedelta(hours=24))
    assert rules.is_overdue(applied, applied + timedelta(hours=24, seconds=1))


def test_exemption_boundary():
    assert rules.is_exempt("association", date(2021, 12, 16))
    assert not rules.is_exempt("association", date(2021, 12, 17))
    assert not rules.is_exempt("ministry", date(2020, 1, 1))


# --- R10 ------------------------------------------------------------------

def test_resident_id_check_character():
    assert rules.normalize_id_number("resident_id", "11010519491231002x") == "11010519491231002X"
    assert rules.normalize_id_number("resident_id", "110101199003074477") == "110101199003074477"


@pytest.mark.parametrize(
    "number,reason",
    [("110101199003074478", "check_character"), ("11010119900307447", "format"),
     ("110101199013074470", "birth_date"), ("", "format")],
)
def test_resident_id_rejections(number, reason):
    if reason == "birth_date":
        number = number[:17] + rules.resident_id_check_char(number[:17])
    with pytest.raises(InvalidIdNumber) as info:
        rules.normalize_id_number("resident_id", number)
    assert info.value.data["reason"] == reason


def test_full_width_digits_are_read_as_ascii_other_scripts_digits_are_not():
    # Chinese input methods type １１０…Ｘ; Excel keeps them as typed
    full_width = "１１０１０５１９４９１２３１００２ｘ"
    assert rules.normalize_id_number("resident_id", full_width) == "11010519491231002X"
    arabic_indic = "".join(chr(0x660 + int(c)) for c in "11010519491231002") + "X"
    with pytest.raises(InvalidIdNumber):
        rules.normalize_id_number("resident_id", arabic_indic)


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_check_char_tables_agree_with_the_weighted_sum(first17):
    weighted = sum(int(c) * w for c, w in zip(first17, (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)))
    assert rules.resident_id_check_char(first17) == "10X98765432"[weighted % 11]


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_any_17_digits_plus_their_check_char_pass_format_and_check(first17):
    number = first17 + rules.resident_id_check_char(first17)
    try:
        rules.normalize_id_number("resident_id", number)
    except InvalidIdNumber as error:
        assert error.data["reason"] == "birth_date"


def test_masking():
    assert rules.mask_id_number("110101199003074477") == "1101**********4477"
    assert rules.mask_name("张三") == "张*"
    assert rules.mask_name("欧阳娜娜") == "欧***"


def test_lockout_after_five_failures():
    now = cst(2026, 3, 1, 10)
    count, locked = 0, None
    for _ in range(4):
        count, locked = rules.after_failed_login(count, now)
        assert locked is None
    count, locked = rules.after_failed_login(count, now)
    assert locked == now + timedelta(minutes=15)
    with pytest.raises(rules.AccountLocked):
        rules.check_not_locked(locked, now + timedelta(minutes=14, seconds=59))
    rules.check_not_locked(locked, now + timedelta(minutes=15))
