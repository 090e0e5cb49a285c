"""The verification page's files (SPEC §6), for ``certcli serve`` and ``admin publish-verifier``.

The page is four static files and one data file, self-contained (no CDN, no external
font, no inline script or style) so that it works from any web host and offline from a
``file://`` folder::

    index.html      the page; its scripts and style are files beside it
    verifier.js     the QR verifier (WebCrypto): the rules of `certcli verify --qr --trust`
    page.js         the page itself: verdict, live status, lookup, PDF check, zh/en
    style.css       phone first (375 px)
    trust-data.js   ``window.CERTCLI_VERIFIER_DATA``: the signed trust bundle, the closed
                    keys' small ledgers, the server to ask for live status, the words

The data travels as a script, not JSON, because a page opened from ``file://`` may run
scripts beside it but not fetch files.  Ledgers up to :data:`EMBED_LEDGER_BYTES` (in all)
are embedded; larger ones are fetched from ``ledger_base`` (``/trust.ledgers/`` on the
server, ``trust.ledgers/`` in an export) and checked against the bundle like the CLI does.

Content-Security-Policy: ``script-src 'self'; style-src 'self'``, nothing inline;
``connect-src`` only the issuer's server.  ``certcli serve`` sends it as a header, an
export carries it in a ``<meta http-equiv>`` (``frame-ancestors`` needs the header).
"""
from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Optional

ASSETS = Path(__file__).resolve().parent / "assets"
STATIC_FILES = {"verifier.js": "text/javascript; charset=utf-8", "page.js": "text/javascript; charset=utf-8",
                "style.css": "text/css; charset=utf-8"}
DATA_FILE = "trust-data.js"
DATA_TYPE = "text/javascript; charset=utf-8"
INDEX_FILE = "index.html"
LEDGER_FOLDER = "trust.ledgers"
EMBED_LEDGER_BYTES = 256 * 1024
# the catalog's words the page shows (certcli/data/messages.json: one file for translators)
TEXT_PREFIXES = ("page.", "check.", "reason.", "verdict.", "warning.", "label.", "why.bundle_", "status_", "kind_",
                 "progress_", "paper_state_")
_LEDGER_NAME = re.compile(r"[0-9a-f]{16}\.bin")


def is_ledger_name(name: str) -> bool:
    return bool(_LEDGER_NAME.fullmatch(name or ""))


def static_file(name: str) -> bytes:
    if name not in STATIC_FILES:
        raise KeyError(name)
    return (ASSETS / name).read_bytes()


def csp(connect: str = "'self'", *, header: bool = True) -> str:
    """The page's Content-Security-Policy: its own scripts and style only, nothing inline,
    network access to the issuer's server alone (``connect``)."""
    policy = ["default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
              f"connect-src {connect}", "base-uri 'none'", "form-action 'none'"]
    if header:   # a <meta> policy may not carry these
        policy += ["frame-ancestors 'none'"]
    return "; ".join(policy)


def index_html(asset_base: str, meta_csp: Optional[str] = None) -> bytes:
    """The page, its files under ``asset_base`` (``/v/`` on the server, ``""`` in an export)."""
    text = (ASSETS / INDEX_FILE).read_text(encoding="utf-8")
    quoted = html.escape(meta_csp or "", quote=False).replace('"', "&quot;")   # 'self' stays readable
    meta = f'<meta http-equiv="Content-Security-Policy" content="{quoted}">\n' if meta_csp else ""
    return text.replace("{{CSP_META}}", meta).replace("{{BASE}}", html.escape(asset_base)).encode("utf-8")


def words() -> dict:
    from certcli import i18n

    catalog = i18n.messages()
    chosen = {key: pair for key, pair in catalog.items() if key.startswith(TEXT_PREFIXES)}
    return {lang: {key: pair[i] for key, pair in chosen.items()} for i, lang in enumerate(i18n.LANGS)}


def qualification_names() -> dict:
    from certcli import catalog

    names = {}
    for table in (catalog.MINISTRY_QUALIFICATIONS, catalog.ASSOCIATION_QUALIFICATIONS, catalog.MEMBER_QUALIFICATIONS):
        for name, code in table.items():
            names.setdefault(code, name)          # catalog.qualification_name: the first table wins
    return names


def ledger_files(ledger_dir: Optional[Path]) -> dict[str, bytes]:
    """The ledger files beside a bundle (``<key_id>.bin``), regular files only."""
    found: dict[str, bytes] = {}
    if ledger_dir is None or not Path(ledger_dir).is_dir():
        return found
    from certcli.verification.context import read_regular_file

    for path in sorted(Path(ledger_dir).iterdir()):
        if is_ledger_name(path.name) and path.is_file():
            found[path.name] = read_regular_file(path, "ledger", 64 * 2**20)
    return found


def data_js(bundle: Optional[str], ledgers: dict[str, bytes], *, api: Optional[str], ledger_base: Optional[str],
            lang: str = "zh", max_bundle_age_days: Optional[int] = None) -> bytes:
    """``trust-data.js``.  ``api`` is the issuer's server (``""``: the page's own origin; None:
    no live status); small ledgers are embedded, the rest are fetched from ``ledger_base``."""
    import base64

    embedded, budget = {}, EMBED_LEDGER_BYTES
    for name, data in sorted(ledgers.items(), key=lambda item: len(item[1])):
        if len(data) <= budget:
            embedded[name] = base64.b64encode(data).decode("ascii")
            budget -= len(data)
    data = {"format": 1, "bundle": bundle, "ledgers": embedded, "ledger_base": ledger_base, "api": api,
            "lang": lang if lang in ("zh", "en") else "zh", "max_bundle_age_days": max_bundle_age_days,
            "qualifications": qualification_names(), "text": words()}
    # ASCII only: no U+2028 or "</script>" surprises, whatever the bundle's names hold
    text = json.dumps(data, ensure_ascii=True, separators=(",", ":"), sort_keys=True)
    return ("/* certcli verification page data: the signed trust bundle and the words. Generated; do not edit. */\n"
            f"window.CERTCLI_VERIFIER_DATA = {text};\n").encode("ascii")


def read_bundle(path: Path) -> str:
    """A published bundle's text (``admin trust`` wrote it), read like ``GET /trust.pem`` reads it."""
    from certcli.errors import BadInput
    from certcli.verification.context import MAX_TRUST_BYTES, read_regular_file

    raw = read_regular_file(Path(path), "--trust-bundle", MAX_TRUST_BYTES + 1)
    if len(raw) > MAX_TRUST_BYTES:
        raise BadInput(field="--trust-bundle", value=str(path), reason="too_large")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput(field="--trust-bundle", value=str(path), reason="encoding") from None


def api_origin(url: Optional[str]) -> Optional[str]:
    """``scheme://host[:port]`` of a server URL (what a CSP's connect-src names)."""
    if not url:
        return None
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else None


def publish(folder: Path, bundle_path: Path, *, api: Optional[str], lang: str = "zh",
            max_bundle_age_days: Optional[int] = None, writer=None) -> dict:
    """Write the page into ``folder`` for any web host: ``index.html`` (with a ``<meta>`` CSP),
    the scripts and style, ``trust-data.js``, ``trust.pem`` and ``trust.ledgers/``.
    The bundle is checked first: a page never ships one it would refuse."""
    from certcli.home import write_public
    from certcli.pki.ledgers import ledger_dir_beside
    from certcli.pki.trust_bundle import parse_trust_bundle

    writer = writer or write_public
    text = read_bundle(bundle_path)
    bundle = parse_trust_bundle(text)                # BadTrustBundle (exit 6) for anything else
    ledgers = ledger_files(ledger_dir_beside(Path(bundle_path)))
    origin = api_origin(api)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = {INDEX_FILE: index_html("", csp(origin or "'none'", header=False)),
             **{name: static_file(name) for name in STATIC_FILES},
             DATA_FILE: data_js(text, ledgers, api=api.rstrip("/") if origin else None, ledger_base=LEDGER_FOLDER + "/",
                                lang=lang, max_bundle_age_days=max_bundle_age_days),
             "trust.pem": text.encode("utf-8")}
    for name, data in files.items():
        writer(folder / name, data)
    if ledgers:
        (folder / LEDGER_FOLDER).mkdir(exist_ok=True)
        for name, data in ledgers.items():
            writer(folder / LEDGER_FOLDER / name, data)
    return {"folder": str(folder), "files": sorted(files) + [f"{LEDGER_FOLDER}/{name}" for name in sorted(ledgers)],
            "api": api.rstrip("/") if origin else None, "bundle_issued_at": bundle.issued_at,
            "bundle_next_update": bundle.next_update}
