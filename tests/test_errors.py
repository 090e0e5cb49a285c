"""Typed errors (certcli/errors.py): one class per stable code, named fields, a message
in both languages that shows them, exit codes from ExitStatus, and an error boundary
that blames a file on the store only when the file is in the store's home."""
from __future__ import annotations

import ast
import errno
import os
import pickle
import re
from pathlib import Path

import pytest

from certcli import errors, i18n
from certcli.errors import CertcliError, ExitStatus

ROOT = Path(__file__).resolve().parent.parent
CLASSES = sorted((value for value in vars(errors).values()
                  if isinstance(value, type) and issubclass(value, CertcliError) and value is not CertcliError),
                 key=lambda cls: cls.__name__)
SELECTORS = {"what"}  # a field that picks the message ("code.what") rather than appearing in it


def sample(cls: type[CertcliError], *, optional: bool = True) -> dict:
    return {name: f"s-{name}" for name in cls.fields if optional or name not in cls.defaults}


def variants(cls: type[CertcliError]):
    """Every field given; only the required ones; and each message refinement ("code.what")."""
    yield sample(cls)
    yield sample(cls, optional=False)
    if "what" in cls.fields:
        for key in i18n.messages():
            if key.startswith(cls.code + "."):
                yield {**sample(cls), "what": key.split(".", 1)[1]}


def empty_parts(message: str) -> list[str]:
    problems = [pattern for pattern in ("{", "}", "[[", "]]", "“”", "''", "()", "（）", "：：", ": :", "  ", " .", " ,")
                if pattern in message]
    if re.search(r"[:：]\s*$", message) or re.search(r"[:：]\s*[.。,，;；)）]", message):
        problems.append("a colon with nothing after it")
    return problems


def test_exit_statuses_are_the_contract():
    assert [(s.name, int(s)) for s in ExitStatus][:10] == [
        ("OK", 0), ("NOT_VALID", 1), ("USAGE", 2), ("AUTH", 3), ("RULE", 4), ("NOT_FOUND", 5), ("BAD_INPUT", 6),
        ("STORE", 7), ("SERVER", 8), ("INTERNAL", 70)]
    assert errors.EXIT_STORE is ExitStatus.STORE and errors.EXIT_USAGE == 2 and errors.EXIT_BAD_INPUT == 6


def test_every_class_has_its_own_code_and_an_exit_status():
    codes = [cls.code for cls in CLASSES]
    assert len(codes) == len(set(codes)), sorted(c for c in codes if codes.count(c) > 1)
    for cls in CLASSES:
        assert isinstance(cls.exit_code, ExitStatus), cls
        assert i18n.has(cls.code), cls.code


def test_the_stable_codes_of_the_spec_keep_their_exit_codes():
    spec = {"not_logged_in": 3, "bad_credentials": 3, "account_locked": 3, "terms_not_accepted": 3,
            "invalid_id_number": 6, "already_registered": 4, "not_found": 5, "certificate_revoked": 4,
            "quota_exceeded": 4, "validity_out_of_range": 4, "unknown_scenario": 4, "annotation_pending": 4,
            "annotation_required": 4, "annotation_expired": 4, "annotation_not_needed": 4, "bad_roster": 6,
            "wrong_passphrase": 3, "store_corrupt": 7, "bad_input": 6, "store_unwritable": 7, "store_missing": 7,
            "key_problem": 7, "bad_time": 2, "file_error": 6, "internal_error": 70}
    by_code = {cls.code: cls.exit_code for cls in CLASSES}
    assert {code: by_code.get(code) for code in spec} == spec


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
@pytest.mark.parametrize("lang", i18n.LANGS)
def test_every_message_shows_its_fields_and_has_no_empty_part(cls, lang):
    for data in variants(cls):
        error = cls(**data)
        message = error.message(lang)
        assert message and message != cls.code, (cls, lang)
        assert not empty_parts(message), (cls.__name__, lang, data, message, empty_parts(message))
        if data == sample(cls):  # every field given: every field is shown (the selector picks the words)
            hidden = [name for name, value in data.items() if name not in SELECTORS and value not in message]
            assert not hidden, (cls.__name__, lang, message, hidden)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_fields_are_named_and_checked(cls):
    error = cls(**sample(cls))
    assert error.data == sample(cls) and error.code == cls.code and error.exit_code == cls.exit_code
    for name, value in sample(cls).items():
        assert getattr(error, name) == value
    with pytest.raises(TypeError, match="unexpected keyword argument 'no_such_field'"):
        cls(**sample(cls), no_such_field=1)
    with pytest.raises(TypeError):
        cls(*sample(cls).values(), "one too many")
    required = [name for name in cls.fields if name not in cls.defaults]
    if required:
        with pytest.raises(TypeError, match="missing required argument"):
            cls(**{k: v for k, v in sample(cls).items() if k != required[0]})


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_errors_cross_process_boundaries(cls):
    """Roster and processing workers send their errors to the parent."""
    error = cls(**sample(cls))
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is cls and again.data == error.data and again.args == error.args
    assert again.message("zh") == error.message("zh")


def test_positional_fields_follow_the_declaration_order():
    error = errors.QuotaExceeded("2026-05-30", ("2026-03-01",))
    assert error.data == {"first_accepted_day": "2026-05-30", "counted_days": ("2026-03-01",)}
    assert errors.BadInput(field="--x", reason="format").data == {"field": "--x", "reason": "format",
                                                                  "value": None, "known": None}


def test_reasons_are_shown_in_words_and_optional_parts_disappear():
    choice = errors.BadInput(field="--use", value="photo", reason="unknown_choice", known=["exam", "verified"])
    assert choice.message("en") == "Invalid input: --use 'photo': not an accepted value (accepted: exam, verified)"
    assert choice.message("zh") == "输入无效：--use “photo”：不是可选的值（可选：exam, verified）"
    assert errors.BadInput(field="--reason", reason="required").message("en") == "Invalid input: --reason: required"
    assert errors.FileError(reason="No space left on device").message("en") == \
        "Cannot read or write the file: No space left on device"
    # a value that looks like a template is shown as it is, never filled again
    assert "'{field}'" in errors.BadInput(field="--to", value="{field}", reason="format").message("en")


def test_every_raise_site_passes_the_declared_fields():
    """A static check of certcli/: ``SomeError(...)`` calls name only declared fields and all required ones."""
    by_name = {cls.__name__: cls for cls in CLASSES}
    problems = []
    for path in sorted((ROOT / "certcli").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            callees = [node.func.body, node.func.orelse] if isinstance(node.func, ast.IfExp) else [node.func]
            for callee in callees:
                name = callee.id if isinstance(callee, ast.Name) else getattr(callee, "attr", None)
                cls = by_name.get(name)
                if cls is None or any(k.arg is None for k in node.keywords) \
                        or any(isinstance(a, ast.Starred) for a in node.args):
                    continue
                given = set(cls.fields[:len(node.args)]) | {k.arg for k in node.keywords}
                unknown = given - set(cls.fields)
                missing = set(cls.fields) - set(cls.defaults) - given
                if unknown or missing or len(node.args) > len(cls.fields):
                    problems.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}: "
                                    f"unknown {sorted(unknown)}, missing {sorted(missing)}")
    assert not problems, problems


def test_no_exit_code_is_written_as_a_number():
    offenders = []
    for path in sorted((ROOT / "certcli").rglob("*.py")):
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"Exit\(\d+\)|report_error\(.*,\s*\d+\)\s*$", line):
                offenders.append(f"{path.relative_to(ROOT)}:{lineno}")
    assert not offenders, offenders


def test_a_failed_processing_job_records_the_message_not_only_the_class():
    from certcli.certificates.processing import failure_of

    code, message = failure_of(errors.NotFound(what="seal", value="ministry"))
    assert code == "not_found" and message == "not_found: Seal ministry was not found."
    code, message = failure_of(ValueError("bad font"))
    assert code == "ValueError" and message == "ValueError: bad font"


# --- the error boundary ----------------------------------------------------------------------

CERT_NO = "2022ECO110100001"


@pytest.fixture
def downloadable(issued):
    assert issued("annotate", CERT_NO).code == 0
    assert issued("admin", "process").code == 0
    return issued


def test_download_to_a_missing_folder_is_a_file_error_naming_the_path(downloadable, tmp_path):
    target = tmp_path / "no-such-dir" / "x.pdf"
    for lang in i18n.LANGS:
        result = downloadable("download", CERT_NO, "-o", target, lang=lang)
        assert result.code == ExitStatus.BAD_INPUT and result.error_code == "file_error", result.out
        message = result.json["error"]["message"]
        assert str(target) in message and "store" not in message.lower() and "数据目录" not in message
    human = downloadable("download", CERT_NO, "-o", target, json_mode=False)
    assert human.code == 6 and str(target) in human.err and "store" not in human.err.lower()
    assert "Traceback" not in human.out + human.err


def test_a_full_disk_under_the_users_file_is_not_blamed_on_the_store(downloadable, tmp_path, monkeypatch):
    """write() and rename() failures carry no file name; the writer names the user's file."""
    def full_disk(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    target = tmp_path / "cert.pdf"
    result = downloadable("download", CERT_NO, "-o", target)
    assert result.code == 6 and result.error_code == "file_error"
    assert str(target) in result.json["error"]["message"] and "No space left" in result.json["error"]["message"]
    assert result.json["error"]["data"] == {"reason": "No space left on device"}


def test_export_and_trust_to_a_missing_folder_are_file_errors(downloadable, tmp_path):
    for command in (("admin", "export", "-o"), ("admin", "trust", "-o"), ("admin", "audit", "export", "-o")):
        target = tmp_path / "no-such-dir" / "out.txt"
        result = downloadable(*command, target)
        assert result.code == 6 and result.error_code == "file_error", (command, result.out)
        assert str(target) in result.json["error"]["message"]


def test_an_os_error_without_a_file_name_is_not_the_stores(tmp_path):
    from certcli.commands._runtime import os_error

    home = tmp_path / "home"
    assert os_error(OSError(errno.ENOSPC, "No space left on device"), home).code == "file_error"
    assert os_error(OSError(errno.EACCES, "Permission denied", str(tmp_path / "x.pdf")), home).code == "file_error"
    inside = os_error(OSError(errno.EROFS, "Read-only file system", str(home / "certcli.db")), home)
    assert inside.code == "store_unwritable" and inside.data["path"] == str(home / "certcli.db")


@pytest.fixture
def broken(cli, monkeypatch):
    """Any command hits a bug (an exception no layer expects)."""
    from certcli import clock

    def boom():
        raise RuntimeError("boom")

    monkeypatch.setattr(clock, "now", boom)
    return cli


def test_an_internal_error_shows_no_traceback_by_default(broken):
    result = broken("list")
    assert result.code == ExitStatus.INTERNAL and result.error_code == "internal_error"
    assert "RuntimeError" in result.json["error"]["message"]
    assert "Traceback" not in result.out + result.err
    human = broken("list", json_mode=False)
    assert human.code == 70 and "Traceback" not in human.out + human.err


@pytest.mark.parametrize("how", ["env", "option"])
def test_certcli_debug_or_traceback_prints_the_traceback_on_stderr(broken, how):
    args, env = (("--traceback", "list"), None) if how == "option" else (("list",), {"CERTCLI_DEBUG": "1"})
    result = broken(*args, env=env)
    assert result.code == 70 and result.error_code == "internal_error"  # stdout: still one JSON document
    assert "Traceback" in result.err and "RuntimeError: boom" in result.err
