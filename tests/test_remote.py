"""Remote mode (SPEC §6): the real CLI with ``--server URL`` against a real ``certcli serve``
on 127.0.0.1: the same arguments give the same documents, messages and exit codes as
locally; the client home keeps only the session; transport failures exit 8.  The issuer's
homes keep their store on the selected backend (copy_home copies it too; ``on_store`` runs the
CLI there with its database URL on PostgreSQL); client homes never have one."""
from __future__ import annotations

import json
import socket
import stat
import threading

import pytest

from conftest import HOLDER_ID, Cli, backend_env, copy_home_and_store, store_rows
from serving import MEMBER_APPROVAL, MEMBER_NO, Run, Server, certcli, prepare_home

CERT = "2022ECO110100001"
SLASHED = "2024ECO440300004/B"


def copy_home(template, target):
    """serving.copy_home, with the store (on PostgreSQL: a copy of the template's database)."""
    return copy_home_and_store(template, target)


def on_store(home, *args, env=None, **kwargs) -> Run:
    """The CLI in a subprocess on an issuer's home and its store (serving.certcli)."""
    return certcli(home, *args, env={**backend_env(home), **(env or {})}, **kwargs)


def serve(home, *args) -> Server:
    return Server(home, *args, env=backend_env(home))


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return prepare_home(tmp_path_factory.mktemp("template"))


# --- the same holder flow, local and remote ----------------------------------------------------

def _flow(mode: str, root, template) -> list[tuple[str, int, object]]:
    """register → login → agree → list → info → annotate → (admin process on the issuer's
    home) → download → verify the PDF, plus refusals along the way: (step, exit, output)."""
    home = copy_home(template, root / mode / "home")
    server = None
    if mode == "remote":
        server = serve(home).wait_ready()
        client = root / mode / "client"

        def run(*args, **kwargs):
            return certcli(client, *args, server=server.url, **kwargs)
    else:  # in-process (the same CLI, without a process start per step): only the remote side is timed
        local = Cli(home)

        def run(*args, json_mode=True, env=None):
            outcome = local(*args, json_mode=json_mode, env=env)
            return Run(outcome.code, outcome.out, outcome.err)
    pdf = root / mode / "cert.pdf"
    steps = []

    def step(name, result, human=False):
        output = (result.out + result.err) if human else (json.loads(result.out) if result.out.strip() else None)
        steps.append((name, result.code, output))
        return result

    try:
        step("register", run("register", "--name", "王小明", "--id-number", HOLDER_ID))
        step("register again", run("register", "--name", "王小明", "--id-number", HOLDER_ID))
        step("list logged out", run("list"))
        step("login wrong", run("login", "--id-number", HOLDER_ID, env={"CERTCLI_PASSWORD": "wrong-password-1"}))
        step("login", run("login", "--id-number", HOLDER_ID))
        step("list before terms", run("list"))
        step("agree", run("agree", "--yes"))
        step("list", run("list"))
        step("list human", run("list", json_mode=False), human=True)
        step("info", run("info", CERT))
        step("info traversal", run("info", "../../etc/passwd"))
        step("annotate bad days", run("annotate", CERT, "--days", "0"))
        step("annotate", run("annotate", CERT, "--days", "30"))
        step("download pending", run("download", CERT, "-o", pdf))
        step("download pending human", run("download", CERT, "-o", pdf, json_mode=False), human=True)
        step("process", Cli(home)("admin", "process"))
        step("download", run("download", CERT, "-o", pdf))
        step("verify pdf", run("verify", pdf))
        step("verify pdf human", run("verify", pdf, json_mode=False), human=True)
        step("verify lookup", run("verify", "--number", CERT, "--name", "王小明"))
        step("verify lookup wrong name", run("verify", "--number", CERT, "--name", "王大明"))
        step("verify qr garbage", run("verify", "--qr", "garbage"))
        step("renew", run("renew", CERT, "--days", "5"))
        step("logout", run("logout"))
        step("list after logout", run("list"))
    finally:
        if server is not None:
            assert server.stop() == 0
    return steps


def _comparable(name: str, output):
    """Paths differ between the two runs (and PDF signatures are randomised): nothing else."""
    if isinstance(output, dict) and name == "download":
        return {k: v for k, v in output.items() if k not in ("path", "sha256", "bytes")}
    if isinstance(output, str):
        return output.replace("/remote/", "/MODE/").replace("/local/", "/MODE/")
    return output


@pytest.fixture(scope="module")
def flows(tmp_path_factory, template):
    done = {}

    def get(mode):
        if mode not in done:
            done[mode] = _flow(mode, tmp_path_factory.mktemp(mode), template)
        return done[mode]

    return get


@pytest.mark.parametrize("mode", ["local", "remote"])
def test_the_same_holder_flow_gives_the_same_documents(mode, flows):
    mine, other = flows(mode), flows("remote" if mode == "local" else "local")
    expected_codes = {"register": 0, "register again": 4, "list logged out": 3,
                      "login wrong": 3, "login": 0, "list before terms": 3, "agree": 0, "list": 0, "info": 0,
                      "info traversal": 5, "annotate bad days": 4, "annotate": 0, "download pending": 4, "process": 0,
                      "download": 0, "verify pdf": 0, "verify lookup": 0, "verify lookup wrong name": 1,
                      "verify qr garbage": 1, "renew": 0, "logout": 0, "list after logout": 3}
    codes = {name: code for name, code, _ in mine}
    assert {k: codes[k] for k in expected_codes} == expected_codes, [s for s in mine if s[0] in expected_codes]
    assert [(n, c) for n, c, _ in mine] == [(n, c) for n, c, _ in other]
    for (name, _, output), (_, _, theirs) in zip(mine, other):
        assert _comparable(name, output) == _comparable(name, theirs), name
    documents = {name: output for name, _, output in mine}
    assert documents["list before terms"]["error"]["code"] == "terms_not_accepted"
    assert documents["verify pdf"]["valid"] is True and documents["verify pdf"]["kind"] == "pdf"
    assert documents["logout"] == {"logged_out": True}


# --- what remote mode loads and keeps ----------------------------------------------------------

@pytest.fixture(scope="module")
def served(tmp_path_factory, template):
    root = tmp_path_factory.mktemp("served")
    home = copy_home(template, root / "home")
    with serve(home, "--login-rate", "off") as server:
        yield server, root


def _imported(stderr: str) -> set[str]:
    return {line.split("|")[-1].strip() for line in stderr.splitlines() if line.startswith("import time:")}


def test_remote_holder_commands_load_neither_the_store_nor_pdf_or_signing(served):
    server, root = served
    client = root / "client-imports"
    assert certcli(client, "register", "--name", "王小明", "--id-number", HOLDER_ID,
                   server=server.url).code in (0, 4)
    for args in (("login", "--id-number", HOLDER_ID), ("list",), ("info", CERT), ("download", CERT),
                 ("logout",)):
        result = certcli(client, *args, server=server.url, python_flags=("-X", "importtime"))
        assert result.code in (0, 3, 4), (args, result.out)
        loaded = _imported(result.err)
        assert "httpx" in loaded, args
        heavy = {m for m in loaded if m.split(".")[0] in ("pyhanko", "reportlab", "pypdf", "qrcode", "PIL")
                 or m.startswith(("certcli.store", "certcli.documents", "certcli.certificates",
                                  "certcli.membership", "certcli.accounts", "certcli.server"))}
        assert not heavy, (args, sorted(heavy))
    assert sorted(p.name for p in client.iterdir()) == []  # logged out: nothing left


def test_remote_verify_loads_neither_the_store_nor_pdf_or_signing(served, tmp_path):
    """``verify --qr`` and ``verify FILE.pdf`` with --server, in JSON and in words: the server
    checks; the client loads no store (nor sqlite3) and no PDF or signing code."""
    server, root = served
    pdf = tmp_path / "doc.pdf"
    pdf.write_bytes(b"%PDF-1.7\n%%EOF\n")
    for args in (("--qr", "CC1:" + "A" * 120), (pdf,)):
        for json_mode in (True, False):
            result = certcli(root / "client-verify", "verify", *args, server=server.url, json_mode=json_mode,
                             python_flags=("-X", "importtime"))
            assert result.code == 1, (args, result.out, result.err[-2000:])
            loaded = _imported(result.err)
            assert "httpx" in loaded, args
            heavy = {m for m in loaded if m.split(".")[0] in ("pyhanko", "reportlab", "pypdf", "qrcode", "PIL",
                                                                "sqlite3", "_sqlite3", "psycopg")
                     or m.startswith(("certcli.store", "certcli.pgstore", "certcli.documents", "certcli.certificates",
                                      "certcli.verification.pdf", "certcli.verification.checks",
                                      "certcli.verification.readonly", "certcli.server"))}
            assert not heavy, (args, json_mode, sorted(heavy))


@pytest.mark.parametrize("head, reason", [(b"%PDF-1.7\n", "too_large"), (b"not a PDF at all\n", "not_a_pdf")])
def test_an_oversize_pdf_gives_the_same_verdict_locally_and_remotely(served, tmp_path, head, reason):
    """A file over the size cap is NOT VALID (exit 1) with the same reason in both modes: the
    client refuses it unread as a local check does, and never sends it."""
    from certcli.verification.context import MAX_PDF_BYTES

    server, root = served
    big = tmp_path / "big.pdf"
    with open(big, "wb") as handle:
        handle.write(head)
        handle.truncate(MAX_PDF_BYTES + 10)                 # sparse: no disk used
    local = on_store(server.home, "verify", big)
    remote = certcli(root / "client-big", "verify", big, server=server.url)
    assert (local.code, remote.code) == (1, 1), (local.out, remote.out)
    assert local.json["reason"] == reason and local.json["checks"][0] == {
        "name": "pdf_structure", "ok": False, "reason": reason, "detail": ""}
    assert remote.json == local.json
    words = [run(home, "verify", big, json_mode=False, env={"CERTCLI_LANG": "zh"}, **extra)
             for run, home, extra in ((on_store, server.home, {}),
                                      (certcli, root / "client-big", {"server": server.url}))]
    assert words[0].code == words[1].code == 1 and words[0].out == words[1].out and "无效" in words[0].out
    assert "Traceback" not in local.err + remote.err + words[0].err + words[1].err


def test_local_commands_load_no_http_or_server_module(tmp_path, template):
    home = copy_home(template, tmp_path / "home")
    result = on_store(home, "list", python_flags=("-X", "importtime"))
    assert result.code == 3
    loaded = _imported(result.err)
    assert not {m for m in loaded if m.split(".")[0] in ("httpx", "httpcore", "starlette", "uvicorn", "anyio")}


def test_the_client_home_keeps_only_the_session_token_0600(served):
    server, root = served
    client = root / "client-session"
    certcli(client, "register", "--name", "王小明", "--id-number", HOLDER_ID, server=server.url)
    assert certcli(client, "login", "--id-number", HOLDER_ID, server=server.url).code == 0
    assert [p.name for p in client.iterdir()] == ["session.json"]
    session = client / "session.json"
    assert stat.S_IMODE(session.stat().st_mode) == 0o600
    saved = json.loads(session.read_text())
    assert set(saved) == {"token", "server"} and saved["server"] == server.url
    # the server keeps only the token's hash
    import hashlib

    hashes = {row["token_hash"] for row in store_rows(server.home, "SELECT token_hash FROM sessions")}
    assert hashlib.sha256(saved["token"].encode()).hexdigest() in hashes
    assert saved["token"] not in hashes
    # a session is never sent to another server: there, this client is not logged in
    other = certcli(client, "list", server=server.url.replace("127.0.0.1", "localhost"))
    assert other.code == 3 and other.error_code == "not_logged_in"


def test_member_and_paper_holder_commands_go_remote(served, tmp_path):
    server, root = served
    client = root / "client-member"
    status = certcli(client, "member", "status", "--id-number", HOLDER_ID, "--name", "王小明", server=server.url)
    assert status.code == 5 and status.error_code == "not_found"
    local = on_store(server.home, "member", "status", "--id-number", HOLDER_ID, "--name", "王小明")
    assert local.json == status.json
    info = certcli(client, "member", "info", server=server.url)
    assert info.code == 3 and info.error_code == "not_logged_in"
    paper = certcli(client, "paper", "request", CERT, "--method", "mail", server=server.url)
    assert paper.code == 3 and paper.error_code == "not_logged_in"


@pytest.mark.slow   # the whole member flow remotely; member commands going remote run by default below
def test_a_member_goes_from_status_to_the_signed_member_certificate_remotely(served):
    """Every member step over HTTP: status (the initial password to a 0600 file), login with
    the certificate number (changing the password), photo, details, download."""
    server, root = served
    client, secret = root / "client-member", root / "initial.txt"

    def run(*args, **kwargs):
        return certcli(client, *args, server=server.url, **kwargs)

    status = run("member", "status", "--id-number", HOLDER_ID, "--name", "赵六", "--approval-no", MEMBER_APPROVAL,
                 "--password-file", secret)
    assert status.code == 0, status.out
    assert status.json["applications"][0]["initial_password_file"] == str(secret)
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    initial = secret.read_text().strip()
    assert initial not in status.out
    login = run("login", "--cert-number", MEMBER_NO, "--password-stdin", input=f"{initial}\nmember-password-9\n")
    assert login.code == 0 and login.json["password_changed"] is True, login.out
    assert run("member", "info").json["certificate_no"] == MEMBER_NO
    assert run("member", "photo", "--use", "exam").code == 0
    preview = run("member", "confirm", "--email", "zhao@example.cn")
    assert preview.code == 4 and preview.json["confirmed"] is False
    assert run("member", "confirm", "--email", "zhao@example.cn", "--yes").code == 0
    pending = run("member", "download", "--reveal", "mobile", "-o", root / "m.pdf")
    assert pending.code == 4 and pending.error_code == "document_pending"
    assert on_store(server.home, "admin", "process").code == 0
    done = run("member", "download", "--reveal", "mobile", "-o", root / "m.pdf")
    assert done.code == 0 and done.json["disclosed"] == {"mobile": "13800138000"}, done.out
    assert (root / "m.pdf").read_bytes().startswith(b"%PDF")
    assert run("paper", "status").error_code == "paper_member_not_issued"
    assert initial not in server.log() and "member-password-9" not in server.log()


# --- transport failures ------------------------------------------------------------------------

def test_an_unreachable_server_exits_8(tmp_path):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    for args in (("list",), ("verify", "--qr", "x"), ("login", "--id-number", HOLDER_ID)):
        result = certcli(tmp_path / "client", *args, server=f"http://127.0.0.1:{port}")
        assert result.code == 8 and result.error_code == "server_unreachable", result.out
    human = certcli(tmp_path / "client", "list", server=f"http://127.0.0.1:{port}", json_mode=False)
    assert human.code == 8 and "Cannot reach the server" in human.err and "Traceback" not in human.err


def _garbage_server(answer: bytes):
    """Answers every connection with ``answer`` (a broken or foreign HTTP server)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    conn.recv(65536)
                    conn.sendall(answer)
                except OSError:
                    pass

    threading.Thread(target=serve, daemon=True).start()
    return listener


@pytest.mark.parametrize("answer, code", [
    (b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 2\r\n\r\nno", "server_error"),
    (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 6\r\n\r\n<html>", "server_error"),
    (b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found", "server_error"),
    (b"this is not HTTP at all\r\n\r\n", "server_error"),
    (b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\nContent-Length: 0\r\n\r\n", "rate_limited"),
    (b'HTTP/1.1 409 Conflict\r\nContent-Length: 45\r\n\r\n{"error": {"code": "a_code_from_the_future"}}', "server_error"),
])
def test_a_failing_or_foreign_server_is_a_server_error(tmp_path, answer, code):
    listener = _garbage_server(answer)
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        result = certcli(tmp_path / "client", "list", server=url)
        assert result.error_code == code, result.out
        assert result.code == (4 if code == "rate_limited" else 8)
        if code == "rate_limited":
            assert result.json["error"]["data"] == {"retry_after": 7}
    finally:
        listener.close()


def test_server_urls_are_checked(tmp_path):
    for url in ("ftp://example.cn", "http://", "https://user:pw@example.cn", "http://example.cn/?q=1"):
        result = certcli(tmp_path / "c", "list", server=url)
        assert result.code == 2 and result.error_code == "usage_error", url
    plain = certcli(tmp_path / "c", "list", server="http://verify.example.cn")
    assert plain.code == 2 and "https" in plain.json["error"]["message"]
    env = certcli(tmp_path / "c", "list", env={"CERTCLI_SERVER": "http://127.0.0.1:1"})
    assert env.code == 8 and env.error_code == "server_unreachable"
