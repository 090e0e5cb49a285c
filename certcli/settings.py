"""Issuer settings kept in the store (``meta``), set with ``admin config`` (SPEC §6).

* ``verify_url``: the address of the verification page.  Documents processed from
  then on carry the QR text ``URL#PAYLOAD`` (:func:`qr_text`): the signed payload in
  the fragment, which a browser never sends to a server, so a phone camera opens the
  page and the page checks the payload itself.  Without it the QR carries the bare
  payload, as before.  ``certcli serve`` serves the page at the URL's path
  (:func:`page_path`; ``/v`` when none is set).

A verify URL is ``https://HOST[:PORT][/PATH]`` (``http://`` only for a loopback host,
for trying it out), at most :data:`MAX_URL_LENGTH` characters of plain ASCII, with
no user name, query or fragment, and a path of letters, digits and ``-._~/`` that
does not fall on one of the server's own routes.  It is kept exactly as checked, so
the QR text is what the administrator typed (an empty path is written ``/``).
"""
from __future__ import annotations

import ipaddress
import re
from datetime import datetime
from typing import Optional

from certcli.errors import BadInput

VERIFY_URL_KEY = "verify_url"
DEFAULT_PAGE_PATH = "/v"
MAX_URL_LENGTH = 120       # the QR code must stay scannable at 150 dpi with the largest payload
# the server's own routes: the page may not sit on (or under) any of them
RESERVED_PATHS = ("/api", "/healthz", "/openapi.json", "/trust.pem", "/trust.ledgers")
_PATH = re.compile(r"/[A-Za-z0-9._~/-]*")
_HOST = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")


def _refuse(value: str, reason: str) -> BadInput:
    return BadInput(field="--verify-url", value=value[:MAX_URL_LENGTH + 20], reason=reason)


def is_loopback_host(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_verify_url(text: str) -> str:
    """The verify URL as it will be printed in QR codes; :class:`BadInput` for anything else."""
    from urllib.parse import urlsplit

    value = text if isinstance(text, str) else ""
    if not value or len(value) > MAX_URL_LENGTH:
        raise _refuse(value, "too_long" if value else "required")
    if not value.isascii() or any(ch.isspace() or not ch.isprintable() for ch in value):
        raise _refuse(value, "verify_url_format")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise _refuse(value, "verify_url_format") from None
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host or "@" in parts.netloc or parts.query or parts.fragment \
            or "?" in value or "#" in value:
        raise _refuse(value, "verify_url_format")
    if parts.scheme == "http" and not is_loopback_host(host):
        raise _refuse(value, "verify_url_scheme")
    if not is_loopback_host(host) and not _HOST.fullmatch(host):
        raise _refuse(value, "verify_url_format")
    if port == 0:
        raise _refuse(value, "verify_url_format")
    path = parts.path or "/"
    if not _PATH.fullmatch(path) or any(segment in (".", "..") for segment in path.split("/")) or "//" in path:
        raise _refuse(value, "verify_url_format")
    if reserved(path):
        raise _refuse(value, "verify_url_reserved_path")
    return value if parts.path else value + "/"


def reserved(path: str) -> bool:
    path = "/" + path.strip("/")
    return any(path == route or path.startswith(route + "/") or path.startswith(route + ".")
               for route in RESERVED_PATHS)


def page_path(url: Optional[str]) -> str:
    """Where ``certcli serve`` serves the page: the verify URL's path without its trailing
    ``/`` ("" for the root), or ``/v`` when no verify URL is set."""
    if not url:
        return DEFAULT_PAGE_PATH
    from urllib.parse import urlsplit

    path = urlsplit(url).path.rstrip("/")
    return DEFAULT_PAGE_PATH if reserved(path or "/") and path else path


def qr_text(url: Optional[str], payload: str) -> str:
    """What the QR code carries: ``URL#PAYLOAD`` with a verify URL, else the bare payload."""
    return f"{url}#{payload}" if url else payload


def verify_url(store) -> Optional[str]:
    return store.get_meta(VERIFY_URL_KEY) or None


def set_verify_url(store, url: Optional[str], now: datetime) -> Optional[str]:
    """Set (or, with None, clear) the verify URL; audited (``config``).  Returns what was set."""
    from certcli import audit

    url = None if url is None else check_verify_url(url)
    with store.transaction() as conn:
        before = conn.execute("SELECT value FROM meta WHERE key = ?", (VERIFY_URL_KEY,)).fetchone()
        if url is None:
            conn.execute("DELETE FROM meta WHERE key = ?", (VERIFY_URL_KEY,))
        else:
            conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) "
                         "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (VERIFY_URL_KEY, url))
        audit.append(conn, now=now, actor="admin", action="config", subject=VERIFY_URL_KEY,
                     before=before[0] if before else None, after=url)
    return url


def settings(store) -> dict:
    """Every setting, for ``admin config`` with no option."""
    url = verify_url(store)
    return {"verify_url": url, "page_path": page_path(url)}


def stored_verify_url(home) -> Optional[str]:
    """The verify URL in the home's store, read-only (no migration, nothing written): what
    ``certcli serve`` reads at start to place the page.  None without a store or a URL."""
    import sqlite3
    from pathlib import Path

    from certcli.home import database_url, store_file

    if database_url() is not None:
        return _stored_verify_url_postgres(database_url())
    path = store_file(Path(home))
    if not path.is_file():
        return None
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (VERIFY_URL_KEY,)).fetchone()
    except sqlite3.Error:
        row = None
    finally:
        conn.close()
    return row[0] if row and row[0] else None


def _stored_verify_url_postgres(url: str) -> Optional[str]:
    """:func:`stored_verify_url` in a PostgreSQL store (``--database-url``)."""
    from certcli import pgstore
    from certcli.errors import CertcliError

    try:
        conn = pgstore.connect(url)
    except CertcliError:      # unreachable now: the server's first request reports it
        return None
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (VERIFY_URL_KEY,)).fetchone()
    except (pgstore.Error, CertcliError):
        row = None
    finally:
        conn.close()
    return row[0] if row and row[0] else None
