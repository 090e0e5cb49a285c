"""The holder service boundary (issue 11): every holder, member and paper-holder
command goes through ``certcli.services`` and nothing else, and the service
speaks plain JSON-ready data, so that a remote implementation (``--server``)
can stand behind the same interface."""
from __future__ import annotations

import ast
import dataclasses
import io
import json
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image

from conftest import HOLDER_ID, NOW, PASSWORD, cert_row, write_roster

COMMANDS = Path(__file__).resolve().parents[1] / "certcli" / "commands"
FORBIDDEN = ("certcli.store", "certcli.accounts", "certcli.certificates", "certcli.membership", "certcli.regions")
# modules whose every command is a holder's, and those where only `register` (not `register_admin`) is
HOLDER_MODULES = {"account": "register", "certificates": "register", "member": "register", "paper": "register"}


# --- (a) the commands reach the library only through the service ----------------------------

def _module(name: str) -> ast.Module:
    return ast.parse((COMMANDS / f"{name}.py").read_text(encoding="utf-8"))


def _functions(tree: ast.Module) -> dict[str, ast.FunctionDef]:
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}


def _imported(node: ast.AST) -> list[tuple[str, list[str]]]:
    found = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Import):
            found += [(alias.name, []) for alias in sub.names]
        elif isinstance(sub, ast.ImportFrom):
            found.append((sub.module or "", [alias.name for alias in sub.names]))
    return found


def _holder_side() -> dict[tuple[str, str], ast.FunctionDef]:
    """Every function a holder command runs: the commands named in each module's
    ``register`` and, transitively, the module functions they call or import from
    other command modules."""
    trees = {name: _module(name) for name in HOLDER_MODULES}
    functions = {name: _functions(tree) for name, tree in trees.items()}
    todo = [(module, n.id) for module, register in HOLDER_MODULES.items()
            for n in ast.walk(functions[module][register]) if isinstance(n, ast.Name)
            and n.id in functions[module] and n.id != register]
    assert len(todo) >= 4 * 2, todo
    seen: dict[tuple[str, str], ast.FunctionDef] = {}
    while todo:
        module, name = todo.pop()
        if (module, name) in seen:
            continue
        node = seen[(module, name)] = functions[module][name]
        todo += [(module, n.id) for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in functions[module]]
        for imported, names in _imported(node):
            other = imported.rpartition(".")[2]
            if imported.startswith("certcli.commands.") and other in functions:
                todo += [(other, n) for n in names if n in functions[other]]
    return seen


def _forbidden(imported: str, names: list[str]) -> bool:
    full = [imported] + [f"{imported}.{n}" for n in names]
    return any(f == bad or f.startswith(bad + ".") for f in full for bad in FORBIDDEN) or \
        (imported == "certcli" and any(f"certcli.{n}" in FORBIDDEN for n in names))


def test_holder_commands_import_only_the_service_and_presentation_helpers():
    holder_side = _holder_side()
    assert {("account", "login"), ("account", "agree"), ("certificates", "download"), ("member", "login_member"),
            ("member", "status"), ("member", "confirm"), ("paper", "request"), ("paper", "status")} <= set(holder_side)
    assert not any(name.startswith("admin_") or name.startswith("region_") for _, name in holder_side)
    offenders = [(f"{module}.{name}", imported) for (module, name), node in holder_side.items()
                 for imported, names in _imported(node) if _forbidden(imported, names)]
    offenders += [(module, imported) for module in HOLDER_MODULES
                  for node in _module(module).body if isinstance(node, (ast.Import, ast.ImportFrom))
                  for imported, names in _imported(node) if _forbidden(imported, names)]
    assert not offenders, offenders


def test_holder_commands_touch_neither_the_store_nor_the_session():
    """Store and session file belong to the service: no ``runtime.store()``, no ``runtime.home``."""
    offenders = [(f"{module}.{name}", sub.attr) for (module, name), node in _holder_side().items()
                 for sub in ast.walk(node) if isinstance(sub, ast.Attribute) and sub.attr in ("store", "home")]
    assert not offenders, offenders


def test_every_holder_command_calls_the_service():
    holder_side = _holder_side()
    trees = {name: _functions(_module(name)) for name in HOLDER_MODULES}
    for module, register in HOLDER_MODULES.items():
        commands = {n.id for n in ast.walk(trees[module][register]) if isinstance(n, ast.Name)
                    and n.id in trees[module] and n.id != register}
        for command in commands:
            reached = [node for (m, name), node in holder_side.items() if (m, name) == (module, command)]
            calls = {n.id for node in reached for n in ast.walk(node) if isinstance(n, ast.Name)}
            assert "holder_service" in calls, (module, command)


def test_services_package_is_light():
    """Importing the interface and the factory loads no store, PDF or signing module."""
    import subprocess
    import sys

    code = ("import sys, certcli.services.factory, certcli.services.holder; "
            "print(','.join(m for m in sys.modules if m.startswith(('certcli.store', 'certcli.accounts', "
            "'certcli.membership', 'certcli.certificates', 'sqlite_utils', 'pyhanko', 'reportlab'))))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "", loaded


# --- (b) the local service speaks JSON-ready data --------------------------------------------

def _json_ready(value, path="result"):
    """Only str, int, float, bool, None, lists and dicts with str keys; and json.dumps agrees."""
    if isinstance(value, dict):
        for key, item in value.items():
            assert isinstance(key, str), (path, key)
            _json_ready(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _json_ready(item, f"{path}[{i}]")
    else:
        assert value is None or isinstance(value, (str, int, float, bool)), (path, type(value).__name__)
    json.dumps(value, ensure_ascii=False)  # no default=: a date or bytes would fail here
    return value


def _download_ready(download) -> None:
    from certcli.services.holder import Download

    assert isinstance(download, Download)
    assert download.pdf.startswith(b"%PDF")
    _json_ready({k: v for k, v in dataclasses.asdict(download).items() if k != "pdf"})


def _service(home: Path, now: str = NOW):
    from certcli.services.holder import HolderService
    from certcli.services.local import LocalHolderService

    service = LocalHolderService(home, datetime.fromisoformat(now))
    assert isinstance(service, HolderService)
    return service


def test_local_service_drives_a_holder_from_registration_to_download(cli, tmp_path):
    from certcli.errors import AnnotationPending, NotLoggedIn, TermsNotAccepted

    assert cli("admin", "init").code == 0
    roster = write_roster(tmp_path / "roster.csv", [
        {**cert_row(), "region": ""},
        {**cert_row(no="2025ACC320100002", qualification="会计专业技术资格", level="初级", issued_on="2025-12-20"),
         "region": "江苏"},
    ])
    assert cli("admin", "issue", roster).code == 0
    cert = "2022ECO110100001"

    with _service(cli.home) as service:
        assert service.check_id_number("resident_id", HOLDER_ID.lower()) == HOLDER_ID
        registered = _json_ready(service.register(name="王小明", id_number=HOLDER_ID, id_type="resident_id",
                                                  password=PASSWORD))
        assert registered == {"registered": True, "name": "王小明", "id_type": "resident_id",
                              "id_number_masked": "1101**********4477"}
        with pytest.raises(NotLoggedIn):
            service.certificates()
        logged_in = _json_ready(service.login(id_number=HOLDER_ID, password=PASSWORD))
        assert logged_in["logged_in"] and not logged_in["terms_accepted"]
        with pytest.raises(TermsNotAccepted):
            service.certificates()
        terms = _json_ready(service.terms())
        assert terms["terms_version"] == logged_in["terms_version"] and terms["text_zh"] and terms["text_en"]
        assert _json_ready(service.accept_terms()) == {"accepted": True, "terms_version": terms["terms_version"]}

        listed = _json_ready(service.certificates())
        assert {c["certificate_no"] for c in listed["certificates"]} == {cert, "2025ACC320100002"}
        assert "empty_reasons" not in listed
        info = _json_ready(service.certificate(cert))
        assert info["annotation"]["state"] == "none" and info["annotations"] == []
        applied = _json_ready(service.annotate(cert, days=30))
        assert applied["status"] == "pending" and applied["days"] == 30
        with pytest.raises(AnnotationPending):
            service.download(cert)

        paper = _json_ready(service.request_paper("2025ACC320100002", method="mail", address="江苏省南京市"))
        assert paper["collection_opened_on"] == "2026-02-20" and paper["checklist"]
        assert _json_ready(service.paper_requests())["requests"][0]["request_no"] == paper["request_no"]
        assert _json_ready(service.member_status(id_type="resident_id", id_number=HOLDER_ID,
                                                 name="王小明")) == {"applications": []}

    assert cli("admin", "process").json["completed"] == 1  # the administrator signs (R4)

    with _service(cli.home) as service:  # the session is the home's: a new service object is still logged in
        download = service.download(cert)
        _download_ready(download)
        assert download.certificate_no == cert and download.facts["annotation_no"] == applied["annotation_no"]
        assert _json_ready(service.certificate(cert))["annotation"]["state"] == "active"
        assert _json_ready(service.renew(cert, days=5))["scenario"] == "self-use"
        assert _json_ready(service.logout()) == {"logged_out": True}
        assert _json_ready(service.logout()) == {"logged_out": False}
        with pytest.raises(NotLoggedIn):
            service.download(cert)


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (300, 400), (200, 180, 160)).save(buffer, format="JPEG")
    return buffer.getvalue()


def _member_row(no, approval_no, pass_year="2015"):
    return {"certificate_no": no, "name": "赵六", "id_type": "resident_id", "id_number": HOLDER_ID,
            "qualification": "注册会计师非执业会员", "level": "", "issued_on": "2021-03-15",
            "issuer": "中国注册会计师协会", "seal": "association", "region": "北京", "approval_no": approval_no,
            "photo": "exam.jpg", "kind": "membership", "birth_date": "", "mobile": "13800138000", "email": "",
            "exam_pass_year": pass_year}


def test_local_service_drives_a_member_to_the_signed_member_certificate(cli, tmp_path):
    from certcli.errors import DocumentPending, PasswordChangeRequired

    approval = "京注协〔2021〕15号"
    assert cli("admin", "init").code == 0
    (tmp_path / "exam.jpg").write_bytes(_jpeg())
    roster = write_roster(tmp_path / "members.csv", [_member_row("2021CPA110000001", approval)])
    assert cli("admin", "issue", roster).code == 0
    for stage in ("local", "national"):
        assert cli("admin", "member", "review", "2021CPA110000001", "--stage", stage, "--approve").code == 0

    with _service(cli.home) as service:
        query = dict(id_type="resident_id", id_number=HOLDER_ID, name="赵六", approval_no=approval)
        kept = _json_ready(service.member_status(**query))  # issue_passwords=0: nothing secret leaves
        assert kept["applications"][0]["credentials"] == "initial_password_available"
        status = _json_ready(service.member_status(**query, issue_passwords=1))
        entry = status["applications"][0]
        assert entry["credentials"] == "initial_password" and entry["certificate_no"] == "2021CPA110000001"
        first = entry["initial_password"]
        with pytest.raises(PasswordChangeRequired):
            service.login_member(certificate_no="2021CPA110000001", password=first)
        login = _json_ready(service.login_member(certificate_no="2021cpa110000001", password=first,
                                                 new_password="member-password-9"))
        assert login == {"logged_in": True, "member": True, "certificate_no": "2021CPA110000001", "name": "赵六",
                         "password_changed": True}
        info = _json_ready(service.member_info())
        assert info["photo"]["source"] is None and not info["details_confirmed"]
        assert _json_ready(service.choose_member_photo("exam"))["source"] == "exam"
        preview = _json_ready(service.preview_member_details(email="zhao@example.cn", birth_date="1990-03-07"))
        assert preview["details"]["email"] == "zhao@example.cn"
        confirmed = _json_ready(service.confirm_member_details(email="zhao@example.cn"))
        assert confirmed["details"]["birth_date"] == "1990-03-07"  # from the resident ID
        with pytest.raises(DocumentPending):
            service.member_download("mobile")

    assert cli("admin", "process").code == 0

    with _service(cli.home) as service:
        download = service.member_download(["mobile"])
        _download_ready(download)
        assert download.certificate_no == "2021CPA110000001"
        assert download.facts["disclosed"] == {"mobile": "13800138000"}


def test_one_password_file_issues_one_password_and_keeps_the_next(cli, tmp_path):
    """Two approved memberships, one password wanted: the second stays for a later query."""
    approval = "京注协〔2021〕15号"
    assert cli("admin", "init").code == 0
    (tmp_path / "exam.jpg").write_bytes(_jpeg())
    roster = write_roster(tmp_path / "members.csv", [_member_row("2021CPA110000001", approval),
                                                     _member_row("2021CPA110000002", approval)])
    assert cli("admin", "issue", roster).code == 0
    for number in ("2021CPA110000001", "2021CPA110000002"):
        for stage in ("local", "national"):
            assert cli("admin", "member", "review", number, "--stage", stage, "--approve").code == 0
    query = dict(id_type="resident_id", id_number=HOLDER_ID, name="赵六", approval_no=approval)
    with _service(cli.home) as service:
        entries = _json_ready(service.member_status(**query, issue_passwords=1))["applications"]
        assert sorted(e["credentials"] for e in entries) == ["initial_password", "initial_password_available"]
        assert sum("initial_password" in e for e in entries) == 1
        again = _json_ready(service.member_status(**query, issue_passwords=1))["applications"]
        assert sorted(e["credentials"] for e in again) == ["initial_password", "revealed"]


def test_the_factory_gives_the_local_service_over_the_runtime_store(tmp_path):
    from certcli.commands._runtime import Runtime
    from certcli.services.factory import holder_service
    from certcli.services.local import LocalHolderService

    runtime = Runtime(home=tmp_path, _now=datetime.fromisoformat(NOW))
    service = holder_service(runtime)
    assert isinstance(service, LocalHolderService) and service.home == tmp_path and service.now == runtime.now
