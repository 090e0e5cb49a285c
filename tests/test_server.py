"""``certcli serve`` (SPEC §6), started for real on 127.0.0.1 and a free port and driven
with httpx: the holder API, the public verification API, the error boundary (4xx for
any input, never 500), sessions, rate limits, security headers and the access log, on
one server shared by the whole module.  Starting and stopping it (TLS, workers, a graceful
SIGTERM) is in tests/test_server_running.py; what is tested without a server process (a
bug at the error boundary, the store pool) in tests/test_server_in_process.py."""
from __future__ import annotations

import base64
import hashlib
import json
import socket
import statistics
import time
from datetime import datetime, timedelta

import httpx
import pytest

from conftest import HOLDER_ID, NOW, PASSWORD
from serving import Server, certcli, copy_home

CERT = "2022ECO110100001"
SLASHED = "2024ECO440300004/B"
ZHANG_ID, LI_ID = "110101199003070011", "11010519491231002X"
H = "/api/v1/holder"
ISSUED_TOKENS: list[str] = []  # every token the server handed out: none may reach its log


@pytest.fixture(scope="module")
def server(tmp_path_factory, serve_template):
    home = copy_home(serve_template, tmp_path_factory.mktemp("shared") / "home")
    with Server(home, "--login-rate", "off", "--lookup-rate", "off") as running:
        yield running


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def _login(http, id_number, *, register_name=None, agree=True) -> dict:
    if register_name:
        http.post(f"{H}/register", json={"name": register_name, "id_number": id_number, "password": PASSWORD})
    answer = http.post(f"{H}/login", json={"id_number": id_number, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    token = answer.json()["access_token"]
    ISSUED_TOKENS.append(token)
    auth = {"Authorization": f"Bearer {token}"}
    if agree:
        assert http.post(f"{H}/terms/accept", headers=auth).status_code == 200
    return auth


def _error(answer: httpx.Response, status: int, code: str) -> dict:
    assert answer.status_code == status, (answer.status_code, answer.text)
    assert answer.headers["content-type"].startswith("application/json")
    document = answer.json()
    assert set(document) == {"error"} and document["error"]["code"] == code, document
    assert isinstance(document["error"]["message"], str) and document["error"]["message"]
    return document["error"]


# --- the service ---------------------------------------------------------------------------------

def test_health_and_an_openapi_document_that_describes_every_route(http, serve_template):
    assert http.get("/healthz").json() == {"status": "ok"}
    spec = http.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    from certcli.server.app import create_app
    from certcli.server.options import ServeOptions

    app = create_app(ServeOptions(home=str(serve_template)))
    routes = {(route.path.replace("{no:path}", "{no}"), method.lower()) for route in app.routes
              for method in route.methods if method != "HEAD"}
    described = {(path, method) for path, operations in spec["paths"].items() for method in operations}
    assert routes == described


def test_security_headers_on_every_answer(http):
    for path in ("/healthz", "/openapi.json", f"{H}/certificates", "/nope", "/api/v1/lookup"):
        answer = http.get(path)
        headers = answer.headers
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["referrer-policy"] == "no-referrer"
        assert "server" not in headers
        if path != "/openapi.json":
            assert headers["cache-control"] == "no-store", path
    assert http.get(f"{H}/certificates").headers["www-authenticate"].startswith("Bearer")


def test_unknown_routes_and_methods_answer_json_errors(http):
    _error(http.get("/api/v1/nothing-here"), 404, "not_found")
    error = _error(http.delete(f"{H}/certificates"), 405, "usage_error")
    assert "DELETE" in error["data"]["detail"]
    _error(http.get("/api/v1/lookup", params={"number": CERT}), 400, "usage_error")


# --- the holder API ----------------------------------------------------------------------------

def test_the_holder_api_with_certificate_numbers_that_hold_a_slash(http):
    answer = http.post(f"{H}/register", json={"name": "张三", "id_number": ZHANG_ID, "password": PASSWORD})
    assert answer.status_code == 200 and answer.json()["id_number_masked"] == "1101**********0011"
    _error(http.get(f"{H}/certificates"), 401, "not_logged_in")
    auth = _login(http, ZHANG_ID, agree=False)
    _error(http.get(f"{H}/certificates", headers=auth), 403, "terms_not_accepted")
    assert http.post(f"{H}/terms/accept", headers=auth).json()["accepted"] is True
    listed = http.get(f"{H}/certificates", headers=auth).json()["certificates"]
    assert [c["certificate_no"] for c in listed] == [SLASHED]
    encoded = http.get(f"{H}/certificates/2024ECO440300004%2FB", headers=auth)
    plain = http.get(f"{H}/certificates/{SLASHED}", headers=auth)
    assert encoded.status_code == plain.status_code == 200 and encoded.json() == plain.json()
    assert encoded.json()["certificate_no"] == SLASHED
    applied = http.post(f"{H}/annotate/2024ECO440300004%2FB", json={"days": 10}, headers=auth)
    assert applied.status_code == 200 and applied.json()["status"] == "pending"
    _error(http.get(f"{H}/download/2024ECO440300004%2FB", headers=auth), 409, "annotation_pending")
    _error(http.post(f"{H}/annotate/{SLASHED}", json={"days": 91}, headers=auth), 409, "validity_out_of_range")
    _error(http.post(f"{H}/renew/{SLASHED}", json={"days": "many"}, headers=auth), 422, "bad_input")
    _error(http.post(f"{H}/paper/{SLASHED}", json={"method": "pigeon"}, headers=auth), 422, "bad_input")
    assert http.get(f"{H}/paper", headers=auth).json() == {"requests": []}
    _error(http.get(f"{H}/member", headers=auth), 403, "member_login_required")
    assert http.post(f"{H}/logout", headers=auth).json() == {"logged_out": True}


@pytest.mark.parametrize("path", [
    f"{H}/certificates/..%2F..%2F..%2Fetc%2Fpasswd", f"{H}/download/..%2F..%2Fcertcli.db",
    f"{H}/certificates/%2E%2E", f"{H}/download/%2Fetc%2Fpasswd", f"{H}/certificates/..\\..\\x",
])
def test_path_traversal_in_certificate_numbers_is_just_an_unknown_number(http, path):
    auth = _login(http, HOLDER_ID, register_name="王小明")
    error = _error(http.get(path, headers=auth), 404, "not_found")
    assert error["data"]["what"] == "certificate"


def test_raw_dot_segments_never_leave_the_api(server):
    for target in (f"{H}/certificates/../../../etc/passwd", "/api/v1/../../trust.pem/../certcli.db",
                   "/%2e%2e/%2e%2e/etc/passwd", "/api/v1/holder/download/....//....//x"):
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            raw = b""
            while chunk := sock.recv(65536):
                raw += chunk
        status = int(raw.split(b" ", 2)[1])
        assert 400 <= status < 500, (target, raw[:200])
        assert b"root:" not in raw and b"SQLite" not in raw


def test_a_stolen_token_dies_with_the_session(http):
    auth = _login(http, HOLDER_ID, register_name="王小明")
    thief = httpx.Client(base_url=http.base_url, timeout=30)  # another client, the same token
    assert thief.get(f"{H}/certificates", headers=auth).status_code == 200
    assert http.post(f"{H}/logout", headers=auth).json() == {"logged_out": True}
    error = _error(thief.get(f"{H}/certificates", headers=auth), 401, "not_logged_in")
    assert error["data"]["reason"] == "no_session"
    for forged in ("Bearer", "Bearer " + "A" * 43, "Basic dXNlcjpwdw==", "Bearer " + "x" * 5000, "Bearer \u00e9"):
        _error(thief.get(f"{H}/certificates", headers={"Authorization": forged.encode("utf-8")}), 401,
               "not_logged_in")
    thief.close()


def test_a_stolen_token_dies_after_eight_idle_hours(server, http):
    auth = _login(http, HOLDER_ID, register_name="王小明")
    later = (datetime.fromisoformat(NOW) + timedelta(hours=9)).isoformat()
    with Server(server.home, now=later) as moved:  # a second server over the same store, 9 hours on
        error = _error(httpx.get(f"{moved.url}{H}/certificates", headers=auth), 401, "not_logged_in")
        assert error["data"]["reason"] == "expired"
    _error(http.get(f"{H}/certificates", headers=auth), 401, "not_logged_in")  # gone for good


def test_brute_force_over_http_locks_the_account(http):
    http.post(f"{H}/register", json={"name": "李䶮", "id_number": LI_ID, "password": PASSWORD})
    codes = [http.post(f"{H}/login", json={"id_number": LI_ID, "password": f"wrong-password-{i}"})
             for i in range(5)]
    assert [a.json()["error"]["code"] for a in codes] == ["bad_credentials"] * 4 + ["account_locked"]
    assert codes[0].status_code == 401 and codes[-1].status_code == 403
    _error(http.post(f"{H}/login", json={"id_number": LI_ID, "password": PASSWORD}), 403, "account_locked")


# --- bodies: 4xx for anything, never 500 --------------------------------------------------------

def test_malformed_and_oversized_bodies_are_4xx_never_500(http):
    auth = _login(http, HOLDER_ID, register_name="王小明")
    big_pdf = b"%PDF-1.7\n" + b"0" * (10 * 2**20 + 10)
    cases = [
        ("POST", f"{H}/login", {"content": b"{not json"}, 400, "bad_input"),
        ("POST", f"{H}/login", {"content": b"[1, 2]"}, 400, "bad_input"),
        ("POST", f"{H}/login", {"content": b"\xff\xfe{}"}, 400, "bad_input"),
        ("POST", f"{H}/login", {"content": b'"just a string"'}, 400, "bad_input"),
        ("POST", f"{H}/login", {"json": {"id_number": HOLDER_ID}}, 422, "bad_input"),
        ("POST", f"{H}/login", {"json": {"id_number": 110101, "password": PASSWORD}}, 422, "bad_input"),
        ("POST", f"{H}/login", {"content": b'{"id_number": "\\ud800", "password": "x"}'}, 422, "bad_input"),
        ("POST", f"{H}/login", {"json": {"id_number": "1" * 100_000, "password": "x"}}, 413, "bad_input"),
        ("POST", f"{H}/register", {"json": {"name": "x" * 300, "id_number": HOLDER_ID, "password": PASSWORD}},
         422, "bad_input"),
        ("POST", f"{H}/register", {"json": {"name": "王", "id_number": "not-a-number", "password": PASSWORD}},
         422, "invalid_id_number"),
        ("POST", f"{H}/annotate/{CERT}", {"json": {"days": True}, "headers": auth}, 422, "bad_input"),
        ("POST", f"{H}/annotate/{CERT}", {"json": {"days": 10**12}, "headers": auth}, 422, "bad_input"),
        ("POST", f"{H}/annotate/{CERT}", {"json": {"scenario": ["self-use"]}, "headers": auth}, 422, "bad_input"),
        ("POST", f"{H}/member/status", {"json": {"id_number": HOLDER_ID, "name": "x", "issue_passwords": -1}},
         422, "bad_input"),
        ("POST", f"{H}/member/download", {"json": {"reveal": {"a": 1}}, "headers": auth}, 422, "bad_input"),
        ("POST", f"{H}/member/photo", {"json": {"source": 7}, "headers": auth}, 422, "bad_input"),
        ("POST", "/api/v1/verify/qr", {"json": {"payload": None}}, 422, "bad_input"),
        ("POST", "/api/v1/verify/qr", {"json": {"payload": 42}}, 422, "bad_input"),
        ("POST", "/api/v1/verify/qr", {"content": b"\x00" * 70_000}, 413, "bad_input"),
        ("POST", "/api/v1/verify/pdf", {"content": big_pdf}, 413, "bad_input"),
    ]
    for method, path, kwargs, status, code in cases:
        _error(http.request(method, path, **kwargs), status, code)
    assert http.get("/healthz").status_code == 200  # still serving


def test_a_declared_length_over_the_limit_is_refused_before_the_body_comes(server):
    for path, length in (("/api/v1/verify/pdf", 10**12), (f"{H}/login", 10**6), ("/api/v1/verify/qr", -1)):
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n".encode())
            head = sock.recv(65536)
        status = int(head.split(b" ", 2)[1])
        assert status in (400, 413), (path, head[:300])


def test_an_endless_request_head_is_cut_off_at_64_kib(server, http):
    """httptools would buffer a header of any length (certcli.server.protocol bounds it, as h11 is)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Long: ")
        try:
            for _ in range(64):          # 4 MiB, never ending the header
                sock.sendall(b"a" * 65536)
        except OSError:                  # the server answered and closed: what is expected
            pass
        try:
            head = sock.recv(65536)
        except ConnectionResetError:     # closed with our bytes unread: the reset may overtake the 400
            head = b"HTTP/1.1 400 (reset)"
    assert int(head.split(b" ", 2)[1]) == 400, head[:200]
    assert "Request head too large" in server.log()
    assert http.get("/healthz").status_code == 200


def test_odd_json_values_never_reach_a_500(http):
    auth = _login(http, HOLDER_ID, register_name="王小明")
    odd = [None, True, -1, 0, 2**63, 1.5, "", "\u202e\u0000", "🙂" * 100, [], {}, "../../x", "%00", "a" * 5000]
    exempt = "2019TAX310100003"  # annotations are refused, after every value was checked: no quota used
    routes = {f"{H}/annotate/{exempt}": ("days", "scenario"), f"{H}/renew/{exempt}": ("days",),
              f"{H}/paper/{exempt}": ("method", "proxy", "address"), f"{H}/member/details/preview": ("email",),
              f"{H}/member/status": ("id_number", "name", "issue_passwords"), f"{H}/login": ("id_number", "id_type"),
              "/api/v1/verify/qr": ("payload",), f"{H}/id-number/check": ("id_number", "id_type"),
              f"{H}/member/download": ("reveal",)}
    base = {"id_number": HOLDER_ID, "name": "王小明", "password": "x", "method": "mail"}
    for route, fields in routes.items():
        for field in fields:
            for value in odd:
                answer = http.post(route, json={**base, field: value}, headers=auth)
                assert answer.status_code < 500, (route, field, value, answer.text)
                assert "error" in answer.json() or answer.status_code == 200


# --- the public verification API ----------------------------------------------------------------

@pytest.fixture(scope="module")
def signed_pdf(server, http, tmp_path_factory):
    """A certificate annotated over HTTP, processed by the administrator, downloaded."""
    auth = _login(http, HOLDER_ID, register_name="王小明")
    assert http.post(f"{H}/annotate/{CERT}", json={"days": 30}, headers=auth).status_code == 200
    assert certcli(server.home, "admin", "process").code == 0
    answer = http.get(f"{H}/download/{CERT}", headers=auth)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/json")
    about = answer.json()
    assert about["certificate_no"] == CERT and about["facts"]["annotation_no"].startswith("AN")
    path = tmp_path_factory.mktemp("pdf") / "cert.pdf"
    path.write_bytes(base64.b64decode(about["pdf"]))
    assert path.read_bytes().startswith(b"%PDF-")
    return path


def test_each_verification_answer_is_the_document_verify_json_prints(server, http, signed_pdf):
    local = certcli(server.home, "verify", signed_pdf)
    remote = http.post("/api/v1/verify/pdf", content=signed_pdf.read_bytes(),
                       headers={"Content-Type": "application/pdf"})
    assert remote.status_code == 200 and local.code == 0
    assert remote.json() == local.json and local.json["valid"] is True
    tampered = bytearray(signed_pdf.read_bytes())
    tampered[len(tampered) // 2] ^= 1
    answer = http.post("/api/v1/verify/pdf", content=bytes(tampered))
    assert answer.status_code == 200 and answer.json()["valid"] is False
    assert http.post("/api/v1/verify/pdf", content=b"").json()["reason"] == "not_a_pdf"
    for payload in ("garbage", "", "CC1." + "A" * 300):
        mine = http.post("/api/v1/verify/qr", json={"payload": payload})
        theirs = certcli(server.home, "verify", "--qr", payload)
        assert mine.status_code == 200 and mine.json() == theirs.json, payload
    looked_up = http.get("/api/v1/lookup", params={"number": CERT, "name": "王小明"})
    assert looked_up.json() == certcli(server.home, "verify", "--number", CERT, "--name", "王小明").json
    assert looked_up.json()["valid"] is True and looked_up.json()["facts"]["name"] == "王**"
    zh = http.get("/api/v1/lookup", params={"number": CERT, "name": "王小明"}, headers={"Accept-Language": "zh-CN"})
    assert zh.json()["verdict"] != looked_up.json()["verdict"]


def test_a_wrong_name_and_an_unknown_number_look_identical(http):
    def probe(number, name):
        started = time.perf_counter()
        answer = http.get("/api/v1/lookup", params={"number": number, "name": name})
        return answer, time.perf_counter() - started

    wrong_name = [probe(CERT, f"王{i}明") for i in range(3)]
    unknown = [probe(f"2099ECO99990{i:04d}", "王小明") for i in range(3)]
    bodies = {answer.content for answer, _ in wrong_name + unknown}
    assert len(bodies) == 1 and {answer.status_code for answer, _ in wrong_name + unknown} == {200}
    assert json.loads(bodies.pop())["valid"] is False
    gap = abs(statistics.median(t for _, t in wrong_name) - statistics.median(t for _, t in unknown))
    assert gap < 0.1, gap


@pytest.fixture(scope="module")
def limited(tmp_path_factory, serve_template):
    """A server with tight per-address limits and a published trust bundle."""
    root = tmp_path_factory.mktemp("limited")
    home = copy_home(serve_template, root / "home")
    published = root / "published.pem"
    published.write_bytes(b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    with Server(home, "--lookup-rate", "3/min", "--login-rate", "2/min", "--trust-bundle", published) as running:
        running.published = published
        yield running


def test_trust_pem(http, limited):
    answer = http.get("/trust.pem")
    if answer.status_code == 200:  # built from the home's public certificates
        assert b"BEGIN CERTIFICATE" in answer.content and b"PRIVATE" not in answer.content
        assert answer.headers["content-type"].startswith("application/x-pem-file")
    else:  # a signed bundle needs the root passphrase: the server only serves a published one
        _error(answer, 404, "not_found")
    published = limited.published
    assert httpx.get(f"{limited.url}/trust.pem").content == published.read_bytes()
    published.write_bytes(published.read_bytes() + b"# new\n")  # read afresh: no restart needed
    assert httpx.get(f"{limited.url}/trust.pem").content.endswith(b"# new\n")


# --- rate limits ----------------------------------------------------------------------------------

def test_lookups_and_logins_are_limited_per_client_address(limited, tmp_path):
    client = httpx.Client(base_url=limited.url, timeout=30)
    answers = [client.get("/api/v1/lookup", params={"number": f"X{i}", "name": "王小明"}) for i in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    error = _error(answers[-1], 429, "rate_limited")
    assert int(answers[-1].headers["retry-after"]) >= 1 and error["data"]["retry_after"] >= 1
    remote = certcli(tmp_path / "client", "verify", "--number", CERT, "--name", "王小明", server=limited.url)
    assert remote.code == 4 and remote.error_code == "rate_limited"
    logins = [client.post(f"{H}/login", json={"id_number": HOLDER_ID, "password": "wrong-password"})
              for _ in range(3)]
    assert [a.status_code for a in logins] == [401, 401, 429]
    assert client.get("/healthz").status_code == 200  # other routes are not limited
    client.close()


# --- the log (last: it reads what every test above made the shared server write) ---------------

def test_the_access_log_is_json_lines_with_no_secret(server, http):
    http.get("/api/v1/lookup", params={"number": CERT, "name": "王小明"})
    assert http.post("/api/v1/verify/qr", json={"payload": "CC1.payload-marker"}).json()["valid"] is False
    http.post(f"{H}/login", json={"id_number": HOLDER_ID, "password": PASSWORD})
    text = server.log()
    requests = []
    for line in text.splitlines():
        entry = json.loads(line)  # every line is one JSON object
        if entry.get("message") == "request":
            requests.append(entry)
    assert len(requests) > 50
    assert {"method", "path", "status", "ms", "client", "ts"} <= set(requests[0])
    assert all("?" not in entry["path"] for entry in requests)
    assert any(entry["status"] == 429 or entry["status"] == 401 for entry in requests)
    for secret in (HOLDER_ID, ZHANG_ID, LI_ID, PASSWORD, "王小明", "wrong-password", "Bearer", "payload-marker",
                   "1101**", *ISSUED_TOKENS,
                   *(hashlib.sha256(t.encode()).hexdigest() for t in ISSUED_TOKENS)):
        assert secret not in text, secret
    assert "internal_error" not in text and "Traceback" not in text
