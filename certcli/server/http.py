"""What every route of ``certcli serve`` shares.

* **The error boundary** (:func:`endpoint`): a typed error becomes its JSON error
  document, exactly as ``--json`` prints it (:func:`certcli.errors.error_document`),
  with an HTTP status chosen by its exit code (:func:`status_for`); no input ever
  produces a 500: that is kept for the store and for bugs (logged as one line).
* **Bodies**: size-limited before they are read (413), JSON objects only (400),
  each field type-checked (422).
* **Sessions**: the bearer token of one request
  (:class:`certcli.accounts.TokenSession`); the store keeps only its hash.
* **Rate limits** per client address (:class:`RateLimiter`, 429 + Retry-After).
* **Security headers and the access log** (:class:`Frontline`): one JSON line per
  request on stderr: method, path (never the query string), status, duration,
  client address.  No header, body, token or query string is ever logged.

The store pool the routes borrow connections from is :mod:`certcli.server.pool`.
"""
from __future__ import annotations

import functools
import json
import logging
import math
import os
import time
from collections import OrderedDict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

from starlette.requests import Request
from starlette.responses import Response

from certcli.errors import (BadInput, CertcliError, ExitStatus, InternalError, StoreUnwritable, error_document)
from certcli.server.pool import database_errors

log = logging.getLogger("certcli.server")

# HTTP status by exit code (SPEC §4 exit codes), and the codes that differ from their exit code's
STATUS_BY_EXIT = {ExitStatus.NOT_VALID: 422, ExitStatus.USAGE: 400, ExitStatus.AUTH: 401, ExitStatus.RULE: 409,
                  ExitStatus.NOT_FOUND: 404, ExitStatus.BAD_INPUT: 422, ExitStatus.STORE: 500,
                  ExitStatus.SERVER: 502, ExitStatus.INTERNAL: 500}
STATUS_BY_CODE = {"rate_limited": 429, "terms_not_accepted": 403, "member_login_required": 403,
                  "password_change_required": 403, "account_locked": 403, "weak_password": 422,
                  "store_unavailable": 503}   # the database is down, or every pooled connection busy
RETRY_AFTER_UNAVAILABLE = "2"

SECURITY_HEADERS = (
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    # API answers are data: nothing may run, load or frame them (a page sets its own policy)
    ("content-security-policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"),
    ("cross-origin-resource-policy", "same-origin"),
    ("cache-control", "no-store"),
)
TOKEN_MAX = 256


def status_for(error: CertcliError) -> int:
    if error.code == "bad_input" and error.data.get("field") == "body":
        return 413 if error.data.get("reason") == "too_large" else 400
    if error.code in STATUS_BY_CODE:
        return STATUS_BY_CODE[error.code]
    return STATUS_BY_EXIT.get(error.exit_code, 500)


def to_json(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False, default=_json_default).encode("utf-8")


def _json_default(value):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (set, tuple)):
        return list(value)
    return str(value)


def json_response(document: Any, status: int = 200, headers: Optional[dict] = None) -> Response:
    return Response(to_json(document), status_code=status, headers=headers,
                    media_type="application/json; charset=utf-8")


def request_lang(request: Request) -> str:
    """``Accept-Language`` (zh… or en…), else the server's default."""
    wanted = request.headers.get("accept-language", "").strip().lower()
    for part in wanted.split(","):
        tag = part.split(";")[0].strip()
        if tag.startswith("zh"):
            return "zh"
        if tag.startswith("en"):
            return "en"
    return request.app.state.options.lang


def error_response(request: Request, error: CertcliError, status: Optional[int] = None) -> Response:
    status = status or status_for(error)
    headers = {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="certcli"'
    if status == 429:
        headers["Retry-After"] = str(error.data.get("retry_after") or 60)
    if status == 503:
        headers["Retry-After"] = RETRY_AFTER_UNAVAILABLE
    return json_response(error_document(error.code, error.message(request_lang(request)), error.data), status,
                         headers)


def endpoint(fn):
    """The error boundary of one route (the server's ``handled``)."""

    @functools.wraps(fn)
    async def boundary(request: Request) -> Response:
        try:
            return await fn(request)
        except CertcliError as error:
            return error_response(request, error)
        except database_errors() as error:
            from certcli.home import database_url
            from certcli.store import translate_error

            where = request.app.state.options.home
            if database_url() is not None:
                from certcli.pgstore import masked

                where = masked(database_url())
            return error_response(request, translate_error(error, where))
        except UnicodeError:  # lone surrogates in a JSON string reach sqlite as text it cannot encode
            return error_response(request, BadInput(field="text", reason="encoding"))
        except OSError as error:
            if error.filename and _inside(error.filename, request.app.state.options.home):
                return error_response(request, StoreUnwritable(path=os.fsdecode(error.filename),
                                                               reason=error.strerror or type(error).__name__))
            return internal_error(request, error)
        except Exception as error:  # noqa: BLE001 - the boundary of last resort
            return internal_error(request, error)

    return boundary


def internal_error(request: Request, error: BaseException) -> Response:
    """A bug: one log line with the exception's type (its text may hold data), and the
    traceback only when CERTCLI_DEBUG asks for it."""
    log.error("internal_error", extra={"fields": {"kind": type(error).__name__, "path": _log_path(request.scope)}})
    if os.environ.get("CERTCLI_DEBUG", "").strip().lower() not in ("", "0", "false", "no", "off"):
        import traceback

        traceback.print_exception(error)
    return error_response(request, InternalError(kind=type(error).__name__))


def _inside(filename, folder) -> bool:
    try:
        return Path(os.fsdecode(filename)).resolve().is_relative_to(Path(folder).resolve())
    except (OSError, ValueError, TypeError):
        return False


# --- sessions --------------------------------------------------------------------------------

def bearer(request: Request) -> Optional[str]:
    """The session token of ``Authorization: Bearer …`` (None when absent or malformed)."""
    value = request.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > TOKEN_MAX or not token.isascii():
        return None
    return token


# --- bodies ------------------------------------------------------------------------------------

async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused (413) as soon as it is known to exceed ``limit`` bytes."""
    length = request.headers.get("content-length")
    if length is not None and (not length.strip().isdigit() or int(length) > limit):
        raise BadInput(field="body", reason="too_large" if length.strip().isdigit() else "format")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BadInput(field="body", reason="too_large")
        chunks.append(chunk)
    return b"".join(chunks)


async def json_body(request: Request) -> dict:
    """A JSON object (an empty body is ``{}``)."""
    raw = await read_body(request, request.app.state.options.max_json)
    if not raw.strip():
        return {}
    try:
        document = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise BadInput(field="body", reason="format") from None
    if not isinstance(document, dict):
        raise BadInput(field="body", reason="format")
    return document


_MISSING = object()


def text(body: dict, name: str, *, required: bool = True, default: Optional[str] = None,
         max_length: int = 4096) -> Optional[str]:
    value = body.get(name, _MISSING)
    if value is _MISSING or value is None:
        if required:
            raise BadInput(field=name, reason="required")
        return default
    if not isinstance(value, str):
        raise BadInput(field=name, reason="format")
    if len(value) > max_length:
        raise BadInput(field=name, reason="too_long")
    try:
        value.encode("utf-8")
    except UnicodeError:
        raise BadInput(field=name, reason="encoding") from None
    return value


def integer(body: dict, name: str, *, default: Optional[int] = None, nullable: bool = False) -> Optional[int]:
    value = body.get(name, _MISSING)
    if value is _MISSING or (value is None and not nullable):
        return default
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) > 10**9:
        raise BadInput(field=name, reason="format")
    return value


def boolean(body: dict, name: str, *, default: bool = False) -> bool:
    value = body.get(name, _MISSING)
    if value is _MISSING or value is None:
        return default
    if not isinstance(value, bool):
        raise BadInput(field=name, reason="format")
    return value


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# --- rate limits ---------------------------------------------------------------------------

class RateLimiter:
    """A token bucket per client address: ``count`` requests per ``seconds``, refilled
    steadily.  Lives in the event loop (no lock); remembers at most ``max_clients``
    addresses, forgetting the longest idle first.  Per worker process."""

    def __init__(self, count: int, seconds: int, max_clients: int = 65536):
        self.capacity = float(count)
        self.rate = count / seconds
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def wait(self, key: str, now: Optional[float] = None) -> int:
        """0 when the request may go ahead (one token taken), else the seconds to wait."""
        now = time.monotonic() if now is None else now
        tokens, at = self._buckets.pop(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - at) * self.rate)
        if tokens >= 1:
            tokens, wait = tokens - 1, 0
        else:
            wait = max(1, math.ceil((1 - tokens) / self.rate))
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        return wait


def limit(request: Request, limiter: Optional[RateLimiter]) -> None:
    """Raise RateLimited (429) when this client address is over ``limiter``'s rate."""
    if limiter is None:
        return
    wait = limiter.wait(client_address(request))
    if wait:
        from certcli.errors import RateLimited

        raise RateLimited(retry_after=wait)


# --- security headers and the access log -------------------------------------------------------

def _log_path(scope) -> str:
    path = scope.get("path") or "/"
    return path if len(path) <= 200 else path[:200] + "…"


class Frontline:
    """Pure ASGI middleware: security headers on every answer, one access-log line per request."""

    def __init__(self, app, *, hsts: bool = False):
        self.app = app
        self.hsts = hsts
        wanted = SECURITY_HEADERS + ((("strict-transport-security", "max-age=31536000"),) if hsts else ())
        self._headers = tuple((name.encode("latin-1"), value.encode("latin-1")) for name, value in wanted)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": None}  # stays None when the client went away before any answer

        async def respond(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = message["headers"] = list(message.get("headers", ()))   # raw: 5x less than MutableHeaders
                present = {name.lower() for name, _value in headers}
                headers.extend(header for header in self._headers if header[0] not in present)
            await send(message)

        try:
            await self.app(scope, receive, respond)
        finally:
            client = scope.get("client")
            log.info("request", extra={"fields": {
                "method": scope.get("method"), "path": _log_path(scope), "status": status["code"],
                "ms": round((time.perf_counter() - started) * 1000, 1),
                "client": client[0] if client else None}})


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the record's ``fields``."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
                 "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = record.exc_info[0].__name__  # the type only: an exception's text may hold data
        return json.dumps(entry, ensure_ascii=False, default=str)
