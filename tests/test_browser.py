"""The verification page in a real headless browser (SPEC §6, issue 13 item 6): Debian's
``chromium`` driven by Playwright with the system executable (no browser download).

The page is opened the way a phone opens it: from the URL zbarimg reads off a real
certificate's QR code (``admin config --verify-url``, ``admin process``, a 150 dpi
rendering).  Also: one changed character, a revocation, a stopped server, the static
export from ``file://``, the number + name lookup and the PDF check, a 375 px phone
screen, and the one set of verifier vectors run through the page's JavaScript.

Without chromium or Playwright these tests skip on a developer machine and fail under CI
(``CI=true``), like every external tool (tests/conftest.py ``need_tool``).  The browser's
clock is set to the server's (``CERTCLI_NOW``) so that the annotation window is judged
at the same instant on both sides.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import HOLDER_ID, NOW, ROOT, need_tool
from external import scan_qr
from serving import Server, certcli, copy_home, free_port, prepare_home

CERT, TAX = "2022ECO110100001", "2019TAX310100003"
BROWSER_NOW = "2026-03-01T10:05:00+08:00"     # the server's clock (NOW) plus the few minutes of a scan
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
PHONE = {"width": 375, "height": 812}
VECTORS = json.loads((ROOT / "tests" / "vectors" / "verifier_vectors.json").read_text(encoding="utf-8"))
# page functions, never expression strings: the page's CSP forbids eval (Playwright evaluates those with it)
SETTLED = ("() => document.getElementById('verdict').dataset.state !== 'pending' && "
           "!['checking', 'none'].includes(document.getElementById('live').dataset.live)")


def _playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        message = "playwright is not installed (pip install -e '.[test]')"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (required under CI)")
        pytest.skip(message)
    return sync_playwright


@pytest.fixture(scope="module")
def browser():
    chromium = need_tool("chromium")
    with _playwright()() as driver:
        launched = driver.chromium.launch(executable_path=os.path.realpath(chromium), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, locale="zh-CN")
    tab = context.new_page()
    tab.clock.set_fixed_time(BROWSER_NOW)
    tab.problems = []
    tab.on("pageerror", lambda error: tab.problems.append(f"pageerror: {error}"))
    tab.on("console", lambda message: tab.problems.append(f"console {message.type}: {message.text}")
           if message.type == "error" and "ERR_CONNECTION_REFUSED" not in message.text
           and "Failed to fetch" not in message.text else None)
    yield tab
    context.close()


def scan(pdf: Path, folder: Path) -> str:
    return scan_qr(pdf, folder)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A home whose verify URL names the server's page, two signed documents scanned off their
    pages (an annotation and an exempt copy), a signed bundle, and the server running."""
    need_tool("chromium")
    _playwright()
    root = tmp_path_factory.mktemp("browser")
    home = copy_home(prepare_home(root / "template"), root / "home")
    port = free_port()
    steps = [("admin", "config", "--verify-url", f"http://127.0.0.1:{port}/v"),
             ("register", "--name", "王小明", "--id-number", HOLDER_ID), ("login", "--id-number", HOLDER_ID),
             ("agree", "--yes"), ("annotate", CERT, "--days", "30")]
    for step in steps:
        assert certcli(home, *step).code == 0, step
    assert certcli(home, "download", TAX, "-o", root / "tax.pdf").error_code == "annotation_pending"
    for step in (("admin", "process"), ("download", CERT, "-o", root / "cert.pdf"),
                 ("download", TAX, "-o", root / "tax.pdf"), ("admin", "trust")):
        assert certcli(home, *step).code == 0, step
    with Server(home, "--lookup-rate", "off", port=port) as server:
        server.root = root
        server.cert_url, server.tax_url = scan(root / "cert.pdf", root), scan(root / "tax.pdf", root)
        assert server.cert_url.startswith(f"{server.url}/v#CC1:") and server.tax_url.startswith(f"{server.url}/v#CC1:")
        yield server


def settle(page, timeout: float = 15_000) -> dict:
    page.wait_for_function(SETTLED, timeout=timeout)
    return {"state": page.get_attribute("#verdict", "data-state"), "mark": page.inner_text("#mark"),
            "sentence": page.inner_text("#sentence"), "live": page.get_attribute("#live", "data-live"),
            "live_text": page.inner_text("#live"), "facts": page.inner_text("#facts"),
            "checks": page.eval_on_selector_all("#check-list li", "items => items.map(i => i.textContent)")}


def english(page) -> None:
    page.click("#lang")
    page.wait_for_function("() => document.documentElement.lang === 'en'")


def test_the_scanned_url_opens_a_valid_verdict_with_the_facts(site, page, tmp_path):
    page.goto(site.cert_url)
    shown = settle(page)
    assert shown["state"] == "valid" and shown["mark"] == "有效", shown
    assert shown["live"] == "ok" and "未被撤销" in shown["live_text"]
    for fact in (CERT, "王**", "经济专业技术资格", "2026年03月30日"):
        assert fact in shown["facts"], fact
    assert "110101" not in page.content()                  # the ID number is not in the payload, nor here
    # readable on a phone: nothing wider than the 375 px screen
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    assert float(page.evaluate("() => getComputedStyle(document.getElementById('mark')).fontSize")[:-2]) >= 30
    picture = Path(os.environ.get("CERTCLI_PAGE_PICTURE") or tmp_path / "verify-page.png")
    page.screenshot(path=str(picture))
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    english(page)
    assert page.inner_text("#mark") == "VALID" and "not revoked" in page.inner_text("#live")
    assert "Certificate no." in page.inner_text("#facts")
    page.reload()                                            # the language is remembered
    settle(page)
    assert page.inner_text("#mark") == "VALID"
    assert not page.problems, page.problems


def test_one_changed_character_in_the_fragment_is_not_valid(site, page):
    url, payload = site.cert_url.split("#", 1)
    at = len(payload) // 2
    changed = payload[:at] + ("A" if payload[at] != "A" else "B") + payload[at + 1:]
    page.goto(f"{url}#{changed}")
    shown = settle(page)
    assert shown["state"] == "invalid" and shown["mark"] == "无效", shown
    assert shown["facts"] == ""                                # nothing from an unsigned payload is shown
    assert any("二维码" in check for check in shown["checks"])
    # the same page, the genuine payload again: valid (hashchange)
    page.evaluate("hash => { location.hash = hash; }", payload)
    assert settle(page)["state"] == "valid"


def test_a_revoked_certificate_shows_revoked(site, page):
    page.goto(site.tax_url)
    assert settle(page)["state"] == "valid"
    assert certcli(site.home, "admin", "revoke", TAX, "--reason", "browser test").code == 0
    page.reload()
    shown = settle(page)
    assert shown["state"] == "invalid" and shown["live"] == "revoked", shown
    assert "已撤销" in shown["live_text"] and "证书已撤销" in shown["sentence"]
    english(page)
    assert "revoked" in page.inner_text("#live") and page.inner_text("#mark") == "NOT VALID"


def test_a_stopped_server_leaves_the_signature_verdict_and_says_live_status_was_not_checked(site, page):
    with Server(site.home, now=NOW) as other:                # the same home, a server about to stop
        page.goto(f"{other.url}/v")
        page.wait_for_function("() => window.CertcliVerifier && document.getElementById('verdict').dataset.state")
        english(page)
    assert other.returncode == 0
    payload = site.cert_url.split("#", 1)[1]
    page.evaluate("hash => { location.hash = hash; }", payload)
    shown = settle(page)
    assert shown["state"] == "valid" and shown["mark"] == "VALID", shown
    assert shown["live"] == "unreachable" and "Could not check live status" in shown["live_text"]
    assert CERT in shown["facts"]


def test_the_static_export_opened_from_a_folder_is_valid(site, page, tmp_path):
    folder = tmp_path / "export"
    answer = certcli(site.home, "admin", "publish-verifier", "-o", folder, "--api-url", "none")
    assert answer.code == 0, answer.out
    payload = site.cert_url.split("#", 1)[1]
    page.goto((folder / "index.html").as_uri() + "#" + payload)
    shown = settle(page)
    assert shown["state"] == "valid" and shown["mark"] == "有效", shown
    assert shown["live"] == "off" and "无法检查实时状态" in shown["live_text"]
    assert CERT in shown["facts"]
    assert not page.problems, page.problems


def test_the_page_offers_the_lookup_and_the_pdf_check(site, page):
    page.goto(f"{site.url}/v")
    page.fill("#lookup-number", CERT)
    page.fill("#lookup-name", "王小明")
    page.click("#lookup-form button")
    page.wait_for_selector("#lookup-result[data-state='valid']", timeout=15_000)
    assert "王**" in page.inner_text("#lookup-result")
    page.fill("#lookup-name", "王小")
    page.click("#lookup-form button")
    page.wait_for_selector("#lookup-result[data-state='invalid']", timeout=15_000)
    page.set_input_files("#pdf-file", str(site.root / "cert.pdf"))
    page.click("#pdf-form button")
    page.wait_for_selector("#pdf-result[data-state='valid']", timeout=30_000)
    assert CERT in page.inner_text("#pdf-result")


def test_the_csp_allows_nothing_inline(site, page):
    """The policy the server sends holds: an injected inline script does not run."""
    violations = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.goto(site.cert_url)
    settle(page)
    ran = page.evaluate("""() => { window.__inline = false; const s = document.createElement('script');
        s.textContent = 'window.__inline = true'; document.body.appendChild(s); return window.__inline; }""")
    assert ran is False and violations                          # refused, and reported as such
    assert page.evaluate("() => getComputedStyle(document.body).backgroundColor") != "rgba(0, 0, 0, 0)"  # styled


def test_the_one_set_of_vectors_through_the_pages_javascript(site, page):
    """tests/vectors/verifier_vectors.json, the file tests/test_verifier_vectors.py runs through
    the Python verifier, through verifier.js in Chromium: the same outcome for every vector."""
    page.goto(f"{site.url}/v")
    page.wait_for_function("() => window.CertcliVerifier !== undefined")
    got = page.evaluate("""async (doc) => {
        const V = window.CertcliVerifier, names = (window.CERTCLI_VERIFIER_DATA || {}).qualifications || {};
        const bundles = {}, out = {vectors: {}, bad: {}, scanned: []};
        for (const [name, b] of Object.entries(doc.bundles)) bundles[name] = await V.parseBundle(b.pem);
        for (const v of doc.vectors) {
            const files = {};
            for (const [file, data] of Object.entries(doc.bundles[v.bundle].ledgers)) {
                let bytes = V.base64Decode(data);
                if (v.ledgers === 'none') continue;
                if (v.ledgers === 'tampered') { if (!bytes.length) continue; bytes = bytes.slice(); bytes[0] ^= 1; }
                files[file] = bytes;
            }
            const verdict = await V.verifyQr(v.payload, bundles[v.bundle], {
                now: V.parseInstant(v.now), ledger: async (ref) => files[ref.file_name] || null,
                maxBundleAge: v.max_bundle_age_seconds === null ? null : v.max_bundle_age_seconds * 1e6,
                qualificationName: (code) => names[code] || null});
            out.vectors[v.name] = JSON.parse(JSON.stringify(verdict));
        }
        for (const b of doc.bad_bundles) {
            try { await V.parseBundle(b.pem); out.bad[b.name] = 'accepted'; }
            catch (e) { out.bad[b.name] = e.reason || String(e); }
        }
        out.scanned = doc.scanned.map(s => V.payloadOf(s.scanned));
        return out;
    }""", VECTORS)
    differ = [v["name"] for v in VECTORS["vectors"] if got["vectors"][v["name"]] != v["expected"]]
    assert not differ, {name: got["vectors"][name] for name in differ[:3]}
    assert got["bad"] == {b["name"]: b["reason"] for b in VECTORS["bad_bundles"]}
    assert got["scanned"] == [s["payload"] for s in VECTORS["scanned"]]

