"""``verify`` says when its clock is not the real one (issue 12).

``CERTCLI_NOW`` moves every command's clock, so scripts can test windows; a
verdict made at a moved clock (an expired annotation checked "before" expiry)
must say so: human output "checked as of … (clock overridden)", and ``--json``
always carries ``checked_at`` and ``clock_overridden``.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from genuine_documents import CERT_NO, make_genuine


@pytest.fixture(scope="module")
def genuine(tmp_path_factory):
    return make_genuine(tmp_path_factory.mktemp("clock"))


def _forms(genuine):
    return {"pdf": (genuine.pdf,), "qr": ("--qr", genuine.payload()), "lookup": ("--number", CERT_NO, "--name", "王小明")}


def test_json_always_has_checked_at_and_clock_overridden(genuine):
    before = datetime.now().astimezone()
    for kind, args in _forms(genuine).items():
        real = genuine.verify(*args)
        assert real.code == 0, (kind, real.out)
        document = real.json
        assert document["clock_overridden"] is False, kind
        checked = datetime.fromisoformat(document["checked_at"])
        assert checked.utcoffset() == timedelta(hours=8)                      # CST, like every instant
        assert before - timedelta(seconds=2) <= checked <= datetime.now().astimezone() + timedelta(seconds=2)
        moved = genuine.verify(*args, now="2026-12-31T23:59:00+08:00").json
        assert moved["clock_overridden"] is True, kind
        assert moved["checked_at"] == "2026-12-31T23:59:00+08:00", kind


def test_human_output_says_the_clock_was_overridden(genuine):
    signed_at = datetime.fromisoformat(genuine.verify(genuine.pdf).json["facts"]["signed_at"])
    moved = (signed_at + timedelta(hours=1)).isoformat()
    en = genuine.verify(genuine.pdf, now=moved, json_mode=False)
    zh = genuine.verify(genuine.pdf, now=moved, json_mode=False, lang="zh")
    local = (signed_at + timedelta(hours=1)).astimezone(timezone(timedelta(hours=8)))
    months = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
    en_shown = f"{local.day} {months[local.month - 1]} {local.year} {local:%H:%M:%S} (Beijing time)"
    zh_shown = f"{local:%Y年%m月%d日 %H:%M:%S}（北京时间）"     # one date style per language
    assert en.code == zh.code == 0, en.out
    assert en.out.splitlines()[0].startswith("VALID:")
    assert en.out.splitlines()[1] == f"checked as of {en_shown} (clock overridden)", en.out
    assert zh.out.splitlines()[1] == f"按 {zh_shown} 检查（时钟已被覆盖）", zh.out
    # the real clock: nothing to announce
    for lang in ("en", "zh"):
        real = genuine.verify(genuine.pdf, json_mode=False, lang=lang)
        assert real.code == 0 and "clock overridden" not in real.out and "时钟已被覆盖" not in real.out


def test_an_expired_annotation_made_valid_by_a_moved_clock_is_announced(genuine):
    """The attack of the issue: the annotation (30 days) has expired at the real clock
    once the clock is moved past it; moved back before expiry it is VALID, and says why."""
    until = datetime.fromisoformat(genuine.verify(genuine.pdf).json["facts"]["valid_until"])
    expired = genuine.verify(genuine.pdf, now=(until + timedelta(days=1)).isoformat())
    assert expired.code == 1 and expired.json["reason"] == "annotation_expired", expired.out
    assert expired.json["clock_overridden"] is True
    earlier = genuine.verify(genuine.pdf, now=(until - timedelta(days=1)).isoformat(), json_mode=False)
    assert earlier.code == 0 and "(clock overridden)" in earlier.out.splitlines()[1], earlier.out
    not_valid = genuine.verify(genuine.pdf, now=(until + timedelta(days=1)).isoformat(), json_mode=False)
    assert not_valid.code == 1 and "(clock overridden)" in not_valid.out.splitlines()[1], not_valid.out


def test_clock_module_knows_when_it_is_overridden():
    from certcli import clock

    assert clock.overridden({"CERTCLI_NOW": "2026-03-01T10:00:00+08:00"}) is True
    assert clock.overridden({"CERTCLI_NOW": ""}) is False
    assert clock.overridden({}) is False
