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
* **The store pool** (:class:`StorePool`): one connection per request at a time, a bounded
  number open (a request waits for one, then 503).
* **Security headers and the access log** (:class:`Frontline`): one JSON line per
  request on stderr: method, path (never the query string), status, duration,
  client address.  No header, body, token or query string is ever logged.
"""
from __future__ import annotations

import functools
import json
import logging
import math
import os
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

from starlette.requests import Request
from starlette.responses import Response

from certcli.errors import (BadInput, CertcliError, ExitStatus, InternalError, StoreUnwritable, error_document)

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
        except _database_errors() as error:
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


# --- the store ---------------------------------------------------------------------------------

def _database_errors() -> tuple:
    """sqlite3's errors and, with ``--database-url``, psycopg's (looked up when one is raised)."""
    from certcli.store import database_errors

    return database_errors()


class StorePool:
    """Open stores, one per request at a time, reused across requests (opening one checks the
    schema).  At most ``max_open`` are open at once, in use and idle together: a request that
    finds them all in use waits for one, up to ``wait`` seconds, then gets
    :class:`~certcli.errors.StoreUnavailable` (reason ``busy``: HTTP 503 + Retry-After) instead
    of a connection the database would refuse.  The bound (:func:`pool_size`) is what this
    process's threads can use at once, and on PostgreSQL also this worker's share of the
    connections the database allows, learnt at the first open.  A connection left in a
    transaction or hit by a database error is closed instead of reused, and so is one beyond
    ``max_idle`` idle ones (a burst of lookups holds one each for 0.25 s; each keeps a page
    cache of its own)."""

    def __init__(self, home: Path, max_open: Optional[int] = None, max_idle: int = 16, wait: float = 10.0,
                 workers: int = 1):
        self.home = Path(home)
        self.workers = max(1, workers)
        self.max_open = max(1, max_open or pool_size())
        self.max_idle = max(1, max_idle)
        self.wait = wait
        # until the first open has read the database's limits (PostgreSQL), one open at a time
        self._sized = max_open is not None
        self._idle: list = []
        self._open = 0            # in use + idle + being opened or closed
        self._closed = False
        self._cond = threading.Condition()

    @contextmanager
    def store(self):
        store = self._acquire()
        reusable = False
        try:
            yield store
            reusable = True
        except _database_errors():
            raise
        except BaseException:
            reusable = True
            raise
        finally:
            self._release(store, reusable)

    def _acquire(self):
        deadline = None
        with self._cond:
            while True:
                if self._idle:
                    return self._idle.pop()
                if self._open < (self.max_open if self._sized else 1):
                    self._open += 1
                    break
                deadline = deadline or time.monotonic() + self.wait
                left = deadline - time.monotonic()
                if left <= 0:
                    raise self._busy()
                self._cond.wait(left)
        store = None
        try:
            from certcli.store import open_store

            store = open_store(self.home)
            if not self._sized:
                self._size(store)
        except BaseException:
            if store is not None:
                store.close()
            with self._cond:
                self._open -= 1
                self._cond.notify()
            raise
        return store

    def _size(self, store) -> None:
        share = database_share(store, self.workers) if store.dialect == "postgres" else None
        with self._cond:
            self.max_open = max(1, min(self.max_open, share or self.max_open))
            self.max_idle = min(self.max_idle, self.max_open)
            self._sized = True
            self._cond.notify_all()

    def _release(self, store, reusable: bool) -> None:
        reusable = reusable and not store.conn.in_transaction and not getattr(store.conn, "broken", False)
        with self._cond:
            if reusable and not self._closed and len(self._idle) < self.max_idle:
                self._idle.append(store)
                self._cond.notify()
                return
        try:
            store.close()
        finally:
            with self._cond:          # counted until it is closed: never more sessions than max_open
                self._open -= 1
                self._cond.notify()

    def _busy(self):
        from certcli.errors import StoreUnavailable
        from certcli.home import database_url, store_file

        url = database_url()
        if url:
            from certcli.pgstore import masked

            where = masked(url)
        else:
            where = str(store_file(self.home))
        return StoreUnavailable(url=where, reason=f"busy: all {self.max_open} database connections of this "
                                                  f"server process stayed in use for {self.wait:g} s")

    @property
    def open_count(self) -> int:
        with self._cond:
            return self._open

    def close(self) -> None:
        with self._cond:
            idle, self._idle, self._closed = self._idle, [], True
            self._open -= len(idle)
            self._cond.notify_all()
        for store in idle:
            store.close()


ANYIO_THREADS = 40   # anyio's default thread budget (anyio.to_thread), shared by the routes without their own


def thread_budgets(cpus: Optional[int] = None) -> dict:
    """Worker-thread budgets: PDF checks (CPU-bound) one per core; logins and registrations
    twice the scrypt threads (certcli.server.state), to keep those busy; the public oracles,
    which mostly wait out each guess's 0.25 s floor, their own (never the holders' threads).
    Everything else shares anyio's default (:data:`ANYIO_THREADS`)."""
    cpus = cpus or os.cpu_count() or 2
    return {"auth": 2 * cpus, "pdf": max(1, cpus), "oracle": 64}


def thread_limiters(cpus: Optional[int] = None) -> dict:
    """An ``anyio.CapacityLimiter`` per budget of :func:`thread_budgets`."""
    import anyio

    return {kind: anyio.CapacityLimiter(count) for kind, count in thread_budgets(cpus).items()}


def pool_size(cpus: Optional[int] = None) -> int:
    """How many requests of one worker process can use a store at once: one per thread of its
    budgets, and the event loop (a QR check on SQLite).  On SQLite the pool's bound: no request
    ever waits for a connection.  On PostgreSQL :func:`database_share` may lower it."""
    return sum(thread_budgets(cpus).values()) + ANYIO_THREADS + 1


FALLBACK_SHARE = 16   # connections per worker when the database's limits cannot be read


def database_share(store, workers: int = 1) -> int:
    """One worker process's share of the PostgreSQL connections the database allows: the least of
    the server's ``max_connections`` (less the reserved ones) and the database's and the role's
    ``CONNECTION LIMIT``; half of it for ``serve`` (the rest for ``admin process`` runs, the CLI
    and other machines), split among the ``workers``."""
    try:
        row = store.conn.execute(
            "SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int"
            " - coalesce(current_setting('reserved_connections', true)::int, 0),"
            " (SELECT datconnlimit FROM pg_database WHERE datname = current_database()),"
            " (SELECT rolconnlimit FROM pg_roles WHERE rolname = current_user)").fetchone()
    except (CertcliError, *_database_errors()):      # e.g. the connection lost meanwhile
        return FALLBACK_SHARE
    allowed = min(limit for limit in row if limit is not None and limit >= 0)
    return max(1, allowed // 2 // max(1, workers))


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
