"""Scannable QR codes (SPEC §6, issue 13 item 3): ``admin config --verify-url URL`` makes the
documents processed afterwards carry ``URL#PAYLOAD`` in their QR code, ``verify --qr`` takes
both forms, and the largest payload with a URL still scans from a 150 dpi rendering.  Also
what ``certcli serve`` publishes for the page: ``/trust.pem`` from the home by default, the
closed keys' ledgers, and the page's own files and CSP at the verify URL's path."""
from __future__ import annotations


import httpx
import pytest

from conftest import HOLDER_ID
from external import scan_qr
from membership_helpers import download, members, qr_of, ready_member  # noqa: F401 - members is a fixture
from serving import Server, certcli, copy_home, free_port, prepare_home

CERT, TAX = "2022ECO110100001", "2019TAX310100003"


def scan(pdf, tmp_path, dpi: int = 150) -> str:
    """The text of the page's QR code, as a phone would read it."""
    return scan_qr(pdf, tmp_path, dpi)


# --- admin config ------------------------------------------------------------------------------

def test_admin_config_shows_checks_and_sets_the_verify_url(cli):
    assert cli("admin", "init").code == 0
    shown = cli("admin", "config")
    assert shown.code == 0 and shown.json == {"verify_url": None, "page_path": "/v", "changed": False}
    refused = {
        "http://verify.example.cn/v": "verify_url_scheme",
        "ftp://verify.example.cn/v": "verify_url_format",
        "https://verify.example.cn/v?x=1": "verify_url_format",
        "https://verify.example.cn/v#frag": "verify_url_format",
        "https://user@verify.example.cn/v": "verify_url_format",
        "https://verify.example.cn/a b": "verify_url_format",
        "https://核验.example.cn/v": "verify_url_format",
        "https://verify.example.cn/../v": "verify_url_format",
        "https://verify.example.cn/v/%2e": "verify_url_format",
        "https://verify.example.cn/api/v": "verify_url_reserved_path",
        "https://verify.example.cn/trust.pem": "verify_url_reserved_path",
        "https://verify.example.cn/healthz": "verify_url_reserved_path",
        "https://verify.example.cn/" + "v" * 120: "too_long",
        "https:///v": "verify_url_format",
    }
    for url, reason in refused.items():
        answer = cli("admin", "config", "--verify-url", url)
        assert answer.code == 6 and answer.error_code == "bad_input", (url, answer.out)
        assert answer.json["error"]["data"]["reason"] == reason, url
    assert cli("admin", "config").json["verify_url"] is None          # nothing was stored
    for url, stored, path in (("https://verify.example.cn/v", "https://verify.example.cn/v", "/v"),
                              ("https://verify.example.cn", "https://verify.example.cn/", ""),
                              ("https://verify.example.cn:8443/check/", "https://verify.example.cn:8443/check/",
                               "/check"),
                              ("http://127.0.0.1:8765/v", "http://127.0.0.1:8765/v", "/v"),
                              ("http://localhost/v", "http://localhost/v", "/v")):
        answer = cli("admin", "config", "--verify-url", url)
        assert answer.code == 0 and answer.json == {"verify_url": stored, "page_path": path, "changed": True}, url
    wrong = cli("admin", "config", "--verify-url", "https://evil.example/v", env={"CERTCLI_KEY_PASSPHRASE": "wrong"})
    assert wrong.code != 0 and cli("admin", "config").json["verify_url"] == "http://localhost/v"
    human = cli("admin", "config", json_mode=False, lang="zh")
    assert "http://localhost/v" in human.out
    assert cli("admin", "config", "--no-verify-url").json["verify_url"] is None
    assert cli("admin", "config", "--verify-url", "https://x.example/v", "--no-verify-url").code == 2
    import sqlite3

    with sqlite3.connect(cli.home / "certcli.db") as conn:
        changes = conn.execute("SELECT details FROM audit_log WHERE action = 'config' ORDER BY id").fetchall()
    assert len(changes) == 6 and "http://localhost/v" in changes[-2][0]   # every change, and only changes


# --- the QR code ---------------------------------------------------------------------------------

def test_documents_processed_afterwards_carry_url_hash_payload(issued, tmp_path):
    cli = issued
    # before any verify URL: the bare payload, as today
    assert cli("download", TAX, "-o", tmp_path / "tax.pdf").error_code == "annotation_pending"
    assert cli("admin", "process").json["completed"] == 1
    assert cli("download", TAX, "-o", tmp_path / "tax.pdf").code == 0
    assert scan(tmp_path / "tax.pdf", tmp_path) == qr_of(tmp_path / "tax.pdf")
    url = "https://verify.example.cn/v"
    assert cli("admin", "config", "--verify-url", url).code == 0
    assert cli("annotate", CERT, "--days", "30").code == 0
    assert cli("admin", "process").json["completed"] == 1
    assert cli("download", CERT, "-o", tmp_path / "cert.pdf").code == 0
    payload = qr_of(tmp_path / "cert.pdf")              # /CertcliQR keeps the bare signed payload
    scanned = scan(tmp_path / "cert.pdf", tmp_path)
    assert payload.startswith("CC1:") and scanned == f"{url}#{payload}"
    # verify --qr takes both forms, and the PDF itself still verifies
    bare, whole = cli("verify", "--qr", payload), cli("verify", "--qr", scanned)
    assert bare.code == 0 and whole.code == 0 and bare.json["facts"] == whole.json["facts"]
    assert cli("verify", tmp_path / "cert.pdf").code == 0
    changed = scanned[:-10] + ("A" if scanned[-10] != "A" else "B") + scanned[-9:]
    assert cli("verify", "--qr", changed).code == 1
    assert cli("verify", "--qr", "ftp://x/v#" + payload).json["reason"] == "not_a_certcli_qr"
    # the exempt copy made before the URL was set keeps its bare QR code
    assert scan(tmp_path / "tax.pdf", tmp_path).startswith("CC1:")


def test_the_largest_payload_with_a_long_verify_url_still_scans_at_150_dpi(members, tmp_path):  # noqa: F811
    """A member certificate disclosing everything, with the longest verify URL allowed."""
    from certcli.settings import MAX_URL_LENGTH

    url = "https://verify.cpa-association.example.cn/"
    url += "members/" + "v" * (MAX_URL_LENGTH - len(url) - len("members/"))
    assert len(url) == MAX_URL_LENGTH
    assert members("admin", "config", "--verify-url", url).code == 0
    env = ready_member(members, tmp_path)
    members("admin", "member", "transfer", "2021CPA110000001", "--to", "新疆维吾尔自治区", "--on", "2023-05-01")
    download(members, env, tmp_path / "m.pdf", "all")
    scanned = scan(tmp_path / "m.pdf", tmp_path)
    payload = qr_of(tmp_path / "m.pdf")
    assert scanned == f"{url}#{payload}"
    facts = members("verify", "--qr", scanned).json["facts"]
    assert facts["transfers"] == "2023-05-01 北京→新疆维吾尔自治区" and facts["email"] == "zhao@example.cn"


# --- what the server publishes ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """A home whose verify URL puts the page at /check, with a signed bundle kept in the home
    and a closed key (the ministry seal rotated after signing a document) with its ledger."""
    root = tmp_path_factory.mktemp("published")
    home = copy_home(prepare_home(root / "template"), root / "home")
    port = free_port()
    assert certcli(home, "admin", "config", "--verify-url", f"http://127.0.0.1:{port}/check").code == 0
    for step in (("register", "--name", "王小明", "--id-number", HOLDER_ID), ("login", "--id-number", HOLDER_ID),
                 ("agree", "--yes"), ("annotate", CERT, "--days", "30"), ("admin", "process"),
                 ("download", CERT, "-o", root / "cert.pdf"), ("admin", "rotate-seal", "ministry"),
                 ("admin", "trust")):
        assert certcli(home, *step).code == 0, step
    with Server(home, "--lookup-rate", "off", port=port) as server:
        server.pdf = root / "cert.pdf"
        yield server


def test_trust_pem_is_the_home_bundle_and_its_ledgers_are_served(published):
    from certcli.home import trust_file
    from certcli.pki.ledgers import ledger_dir_beside

    answer = httpx.get(f"{published.url}/trust.pem")
    assert answer.status_code == 200 and answer.content == trust_file(published.home).read_bytes()
    assert answer.headers["access-control-allow-origin"] == "*"
    ledgers = sorted(ledger_dir_beside(trust_file(published.home)).iterdir())
    assert ledgers, "the rotated key has a ledger"
    for ledger in ledgers:
        served = httpx.get(f"{published.url}/trust.ledgers/{ledger.name}")
        assert served.status_code == 200 and served.content == ledger.read_bytes()
        assert served.headers["content-type"] == "application/octet-stream"
    for name in ("0000000000000000.bin", "..%2Fcertcli.db", "x.bin", "%2e%2e%2Fkeys%2Fmanifest.json"):
        missing = httpx.get(f"{published.url}/trust.ledgers/{name}")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found", name


def test_the_page_is_served_at_the_verify_url_path_with_a_strict_csp(published):
    from certcli.verifier.site import STATIC_FILES

    page = httpx.get(f"{published.url}/check")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy and "unsafe" not in policy
    assert "frame-ancestors 'none'" in policy and "connect-src 'self'" in policy
    assert '<script src="/check/verifier.js"' in page.text
    assert "<script>" not in page.text and "style=" not in page.text and " on" + "click" not in page.text
    assert httpx.get(f"{published.url}/check/").text == page.text
    for name, media in STATIC_FILES.items():
        answer = httpx.get(f"{published.url}/check/{name}")
        assert answer.status_code == 200 and answer.headers["content-type"] == media
        assert answer.headers["content-security-policy"] == policy
    data = httpx.get(f"{published.url}/check/trust-data.js")
    assert data.status_code == 200 and "CERTCLI TRUST SIGNATURE" in data.text and data.text.isascii()
    assert httpx.get(f"{published.url}/v").status_code == 404         # the page moved with the URL
    spec = httpx.get(f"{published.url}/openapi.json").json()["paths"]
    assert {"/check", "/check/", "/check/verifier.js", "/check/trust-data.js", "/trust.ledgers/{name}"} <= set(spec)


def test_the_api_takes_the_scanned_url_too(published, tmp_path):
    scanned = scan(published.pdf, tmp_path)
    assert scanned.startswith(f"{published.url}/check#CC1:")
    whole = httpx.post(f"{published.url}/api/v1/verify/qr", json={"payload": scanned})
    bare = httpx.post(f"{published.url}/api/v1/verify/qr", content=f'{{"payload": "{scanned.split("#")[1]}"}}',
                      headers={"Content-Type": "text/plain;charset=UTF-8"})  # as the page sends it
    assert whole.status_code == bare.status_code == 200
    assert whole.json() == bare.json() and whole.json()["valid"] is True
    assert whole.headers["access-control-allow-origin"] == "*"
    assert certcli(published.home, "verify", "--qr", scanned, server=published.url).json == whole.json()


def test_publish_verifier_writes_a_self_contained_folder(published, tmp_path):
    site = tmp_path / "site"
    answer = certcli(published.home, "admin", "publish-verifier", "-o", site)
    assert answer.code == 0, answer.out
    names = {path.relative_to(site).as_posix() for path in site.rglob("*") if path.is_file()}
    assert {"index.html", "verifier.js", "page.js", "style.css", "trust-data.js", "trust.pem"} <= names
    assert any(name.startswith("trust.ledgers/") for name in names)
    assert answer.json["api"] == published.url
    index = (site / "index.html").read_text(encoding="utf-8")
    assert 'http-equiv="Content-Security-Policy"' in index and f"connect-src {published.url}" in index
    assert "://" not in index.replace(published.url, "")          # nothing loads from anywhere else
    for name in ("page.js", "verifier.js", "style.css"):
        text = (site / name).read_text(encoding="utf-8")
        assert "http://" not in text and "https://" not in text and "@import" not in text and "url(" not in text
    offline = certcli(published.home, "admin", "publish-verifier", "-o", tmp_path / "offline", "--api-url", "none")
    assert offline.code == 0 and offline.json["api"] is None
    assert "connect-src 'none'" in (tmp_path / "offline" / "index.html").read_text(encoding="utf-8")
    bad = certcli(published.home, "admin", "publish-verifier", "-o", tmp_path / "x", "--api-url", "ftp://x")
    assert bad.code == 6
    missing = certcli(published.home, "admin", "publish-verifier", "-o", tmp_path / "y", "--trust-bundle",
                      tmp_path / "nope.pem")
    assert missing.code == 5 and missing.error_code == "not_found"


def test_every_word_the_page_shows_is_in_the_catalog():
    """The page's words come from certcli/data/messages.json (the one file for translators)."""
    import re

    from certcli import i18n
    from certcli.verifier.site import ASSETS, TEXT_PREFIXES

    used = set(re.findall(r'data-t="([^"]+)"', (ASSETS / "index.html").read_text(encoding="utf-8")))
    used |= set(re.findall(r'\bt\("([a-z_.]+[a-z_])"\s*[,)]', (ASSETS / "page.js").read_text(encoding="utf-8")))
    assert len(used) > 25
    assert not [key for key in used if not i18n.has(key)]
    assert all(key.startswith(TEXT_PREFIXES) for key in used)   # and travel in trust-data.js
