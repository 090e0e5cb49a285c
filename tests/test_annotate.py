"""annotate / renew / list / info / download states through the CLI (R1–R3, R5, R6, R8, R9)."""

from conftest import HOLDER_ID, store_db

CERT = "2022ECO110100001"
EXEMPT = "2019TAX310100003"


def state_of(result, number):
    return next(c for c in result.json["certificates"] if c["certificate_no"] == number)


def at(day_time: str) -> str:
    return day_time + "+08:00"


def test_list_shows_only_own_certificates_with_states(issued):
    listed = issued("list").json["certificates"]
    assert {c["certificate_no"] for c in listed} == {CERT, EXEMPT}  # not 李䶮's
    by_no = {c["certificate_no"]: c for c in listed}
    assert by_no[CERT]["annotation"]["state"] == "none"
    assert by_no[EXEMPT]["annotation"]["state"] == "exempt" and by_no[EXEMPT]["exempt"]
    assert by_no[CERT]["id_number_masked"] == "1101**********4477"
    assert HOLDER_ID not in issued("list").out


def test_other_holders_certificate_is_not_found(issued):
    for command in (("info", "2023AUD440300002"), ("annotate", "2023AUD440300002"),
                    ("download", "2023AUD440300002"), ("info", "NO-SUCH")):
        result = issued(*command)
        assert result.code == 5 and result.error_code == "not_found"


def test_annotation_lifecycle_pending_active_expired(issued, tmp_path):
    applied = issued.holder("annotate", CERT, "--days", "1", now=at("2026-03-01T23:59:59"))
    assert applied.code == 0
    assert applied.json["valid_until"] == "2026-03-02T00:00:00+08:00"
    assert applied.json["last_usable_day"] == "2026-03-01"
    assert state_of(issued.holder("list", now=at("2026-03-01T23:59:59")), CERT)["annotation"]["state"] == "pending"
    pending = issued.holder("download", CERT, "-o", tmp_path / "x.pdf", now=at("2026-03-01T23:59:59"))
    assert pending.code == 4 and pending.error_code == "annotation_pending"
    again = issued.holder("annotate", CERT, now=at("2026-03-01T23:59:59"))
    assert again.error_code == "annotation_pending"
    assert issued("admin", "process", now=at("2026-03-01T23:59:59")).json["completed"] == 1
    info = issued.holder("info", CERT, now=at("2026-03-01T23:59:59")).json
    assert info["annotation"]["state"] == "active"
    expired = issued.holder("info", CERT, now=at("2026-03-02T00:00:00")).json
    assert expired["annotation"]["state"] == "expired"
    refused = issued.holder("download", CERT, "-o", tmp_path / "x.pdf", now=at("2026-03-02T00:00:00"))
    assert refused.code == 4 and refused.error_code == "annotation_expired"


def test_download_without_annotation_is_refused(issued, tmp_path):
    result = issued("download", CERT, "-o", tmp_path / "x.pdf")
    assert result.code == 4 and result.error_code == "annotation_required"


def test_validity_range_and_scenarios(issued):
    for days in ("0", "91"):
        result = issued("annotate", CERT, "--days", days)
        assert result.code == 4 and result.error_code == "validity_out_of_range"
    unknown = issued("annotate", CERT, "--scenario", "employer")
    assert unknown.code == 4 and unknown.error_code == "unknown_scenario"
    # scenarios are data: a new one in the table is accepted without code changes
    db = store_db(issued.home)
    db.execute("INSERT INTO scenarios (code, label_zh, label_en) VALUES ('employer', '单位调用', 'Employer')")
    db.commit()
    assert issued("annotate", CERT, "--scenario", "employer").code == 0


def test_quota_three_per_window_refusal_names_first_accepted_day(issued):
    for day in ("2026-03-01", "2026-03-10", "2026-04-01"):
        assert issued.holder("annotate", CERT, "--days", "5", now=at(day + "T09:00:00")).code == 0
        assert issued("admin", "process", now=at(day + "T09:30:00")).code == 0
    refused = issued.holder("annotate", CERT, now=at("2026-05-29T23:59:59"))
    assert refused.code == 4 and refused.error_code == "quota_exceeded"
    assert refused.json["error"]["data"]["first_accepted_day"] == "2026-05-30"  # 2026-03-01 + 90
    assert "30 May 2026" in refused.json["error"]["message"]   # the message says it in words
    assert issued.holder("annotate", CERT, now=at("2026-05-30T00:00:00")).code == 0


def test_failed_or_cancelled_applications_do_not_count(issued):
    for day in ("2026-03-01", "2026-03-02", "2026-03-03"):
        assert issued.holder("annotate", CERT, "--days", "1", now=at(day + "T09:00:00")).code == 0
        db = store_db(issued.home)
        db.execute("UPDATE annotations SET status = 'failed' WHERE status = 'pending'")
        db.commit()
    assert issued.holder("annotate", CERT, now=at("2026-03-04T09:00:00")).code == 0


def test_renew_reuses_the_scenario(issued):
    issued.holder("annotate", CERT, "--days", "1", now=at("2026-03-01T09:00:00"))
    issued("admin", "process", now=at("2026-03-01T09:10:00"))
    renewed = issued.holder("renew", CERT, "--days", "30", now=at("2026-03-05T09:00:00"))
    assert renewed.code == 0 and renewed.json["scenario"] == "self-use" and renewed.json["days"] == 30


def test_exempt_certificate_needs_no_annotation(issued, tmp_path):
    result = issued("annotate", EXEMPT)
    assert result.code == 4 and result.error_code == "annotation_not_needed"
    first = issued("download", EXEMPT, "-o", tmp_path / "t.pdf")
    assert first.error_code == "annotation_pending"  # signed copy requested on first download
    assert issued("admin", "process").json["completed"] == 1
    second = issued("download", EXEMPT, "-o", tmp_path / "t.pdf")
    assert second.code == 0 and (tmp_path / "t.pdf").read_bytes().startswith(b"%PDF")


def test_revoked_certificate_refuses_everything(issued, tmp_path):
    issued("annotate", CERT)
    assert issued("admin", "revoke", CERT, "--reason", "test").code == 0
    assert issued("annotate", CERT).error_code == "certificate_revoked"
    assert issued("download", CERT, "-o", tmp_path / "x.pdf").error_code == "certificate_revoked"
    assert issued("admin", "process").json["completed"] == 0  # the pending request was cancelled
    assert state_of(issued("list"), CERT)["status"] == "revoked"


def test_a_revoked_certificate_s_annotation_in_force_reads_void(issued):
    """R8 in --json too: an annotation that was active (or still pending) is void once revoked,
    so a script reading annotation.state never sees "active" on a revoked certificate."""
    issued("annotate", CERT)
    assert issued("admin", "process").json["completed"] == 1
    assert state_of(issued("list"), CERT)["annotation"]["state"] == "active"
    assert issued("admin", "revoke", CERT, "--reason", "test").code == 0
    listed = state_of(issued("list"), CERT)
    assert listed["annotation"] == {"state": "void", "valid_until": None, "valid_through": None,
                                    "annotation_no": None}
    info = issued("info", CERT).json
    assert info["annotation"]["state"] == "void" and [a["state"] for a in info["annotations"]] == ["void"]
    human = issued("info", CERT, json_mode=False, lang="zh").out
    assert "证书已撤销，加注不可使用" in human and "有效期至" not in human

def test_overdue_requests_are_visible_to_administrators(issued):
    issued.holder("annotate", CERT, now=at("2026-03-01T09:00:00"))
    assert issued("admin", "stats", now=at("2026-03-02T09:00:00")).json["overdue"] == 0
    late = issued("admin", "stats", now=at("2026-03-02T09:00:01")).json
    assert late["pending"] == 1 and late["overdue"] == 1
    listed = issued("admin", "pending", "--overdue", now=at("2026-03-02T09:00:01")).json["pending"]
    assert listed[0]["certificate_no"] == CERT and listed[0]["overdue"]


def test_empty_list_explains_why(cli):
    cli("admin", "init")
    cli("register", "--name", "赵六", "--id-number", "11010519491231002X")
    cli("login", "--id-number", "11010519491231002X")
    cli("agree", "--yes")
    listed = cli("list")
    assert listed.json["certificates"] == []
    assert listed.json["empty_reasons"] == ["not_obtained", "not_yet_online", "outside_scope", "details_corrected"]
    human = cli("list", json_mode=False, lang="zh")
    assert "2016年度以前" in human.out and "重新注册" in human.out


def test_human_output_in_chinese(issued):
    out = issued("annotate", CERT, json_mode=False, lang="zh").out
    assert "加注申请已提交" in out and "24 小时" in out
