"""The routes of ``certcli serve`` (SPEC §6).

* ``/api/v1/holder/…``: every :class:`certcli.services.holder.HolderService`
  method, each calling :class:`certcli.services.local.LocalHolderService` per
  request, with that request's bearer token as the session and the server's clock
  (``CERTCLI_NOW`` honoured) as ``now``: the same rules as the CLI, no copy of any.
* The public verification API: ``/trust.pem``, ``/api/v1/lookup``,
  ``/api/v1/verify/qr``, ``/api/v1/verify/pdf``, each answering the document
  ``certcli verify --json`` prints (:func:`certcli.verification.document.verify_document`).
* ``/healthz`` and ``/openapi.json``.
* The verification page at the path of the verify URL (``admin config --verify-url``;
  ``/v`` without one): :func:`page_routes`, its files from :mod:`certcli.verifier.site`.

The server never signs: it reads the store and the public half of the keys only.
Blocking work (SQLite, scrypt, PDF checks) runs in worker threads, so the event
loop keeps answering.  The public verification API (and the bundle and its ledgers)
answer any origin (``Access-Control-Allow-Origin: *``): they need no credentials, and a
verification page exported to another host asks them.
"""
from __future__ import annotations

import functools
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Optional

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from certcli import clock, rules
from certcli.accounts import TokenSession
from certcli.errors import BadInput, NotFound, UsageError
from certcli.server.http import (Frontline, RateLimiter, StorePool, boolean, bearer, endpoint, error_response,
                                 integer, internal_error, json_body, json_response, limit, read_body,
                                 request_lang, text, thread_limiters)
from certcli.server.options import ServeOptions

API = "/api/v1"
HOLDER = f"{API}/holder"


class ServerState:
    """What the routes share: options, the store pool, rate limiters, thread budgets."""

    def __init__(self, options: ServeOptions):
        self.options = options
        self.home = options.home
        self.pool = StorePool(options.home)
        self.lookups = RateLimiter(*options.lookup_rate) if options.lookup_rate else None
        self.logins = RateLimiter(*options.login_rate) if options.login_rate else None
        self._threads: Optional[dict] = None

    def threads(self, kind: Optional[str]):
        if kind is None:
            return None  # anyio's default budget
        if self._threads is None:
            self._threads = thread_limiters()
        return self._threads[kind]

    async def in_thread(self, work, kind: Optional[str] = None):
        return await anyio.to_thread.run_sync(work, limiter=self.threads(kind))


def state(request: Request) -> ServerState:
    return request.app.state.server


# --- the holder service ------------------------------------------------------------------------

async def _service(request: Request, operation: str, /, *args, threads: Optional[str] = None, **kwargs):
    """Run one HolderService method for this request: (result, the session token after it)."""
    from certcli.services.local import LocalHolderService

    server = state(request)
    session = TokenSession(bearer(request))
    now = clock.now()

    def work():
        with server.pool.store() as store:
            service = LocalHolderService(server.home, now, store=store, session=session)
            return getattr(service, operation)(*args, **kwargs), session.token

    return await server.in_thread(work, threads)


async def _answer(request: Request, operation: str, /, *args, **kwargs) -> Response:
    result, _token = await _service(request, operation, *args, **kwargs)
    return json_response(result)


def _number(request: Request) -> str:
    number = request.path_params["no"]
    if not number or len(number) > 256:
        raise NotFound(what="certificate", value=number[:64])
    return number


@endpoint
async def check_id_number(request: Request) -> Response:
    body = await json_body(request)
    return json_response({"id_number": rules.normalize_id_number(text(body, "id_type", required=False,
                                                                       default="resident_id"),
                                                                  text(body, "id_number", max_length=64))})


@endpoint
async def register(request: Request) -> Response:
    limit(request, state(request).logins)
    body = await json_body(request)
    return await _answer(request, "register", name=text(body, "name", max_length=256),
                         id_number=text(body, "id_number", max_length=64),
                         id_type=text(body, "id_type", required=False, default="resident_id", max_length=32),
                         password=text(body, "password", max_length=1024), threads="auth")


def _opened(result: dict, token: Optional[str]) -> Response:
    if not token:  # cannot happen after a successful login; never answer one without its session
        raise RuntimeError("login without a session")
    return json_response({**result, "access_token": token, "token_type": "bearer"})


@endpoint
async def login(request: Request) -> Response:
    limit(request, state(request).logins)
    body = await json_body(request)
    result, token = await _service(request, "login", id_number=text(body, "id_number", max_length=64),
                                   password=text(body, "password", max_length=1024),
                                   id_type=text(body, "id_type", required=False, max_length=32), threads="auth")
    return _opened(result, token)


@endpoint
async def login_member(request: Request) -> Response:
    limit(request, state(request).logins)
    body = await json_body(request)
    result, token = await _service(request, "login_member",
                                   certificate_no=text(body, "certificate_no", max_length=64),
                                   password=text(body, "password", max_length=1024),
                                   new_password=text(body, "new_password", required=False, max_length=1024),
                                   threads="auth")
    return _opened(result, token)


@endpoint
async def logout(request: Request) -> Response:
    return await _answer(request, "logout")


@endpoint
async def terms(request: Request) -> Response:
    return await _answer(request, "terms")


@endpoint
async def accept_terms(request: Request) -> Response:
    return await _answer(request, "accept_terms")


@endpoint
async def certificates(request: Request) -> Response:
    return await _answer(request, "certificates")


@endpoint
async def certificate(request: Request) -> Response:
    return await _answer(request, "certificate", _number(request))


@endpoint
async def annotate(request: Request) -> Response:
    body = await json_body(request)
    return await _answer(request, "annotate", _number(request),
                         scenario=text(body, "scenario", required=False, max_length=64),
                         days=integer(body, "days", default=90))


@endpoint
async def renew(request: Request) -> Response:
    body = await json_body(request)
    return await _answer(request, "renew", _number(request), days=integer(body, "days", default=90))


def _pdf(download) -> Response:
    """A signed PDF and its facts in one JSON body (the PDF in base64).  Not the PDF bytes
    with the facts in a header: a member's facts hold what they chose to disclose (a mobile
    number), and proxies log headers more readily than bodies."""
    import base64

    return json_response({"certificate_no": download.certificate_no, "facts": download.facts,
                          "pdf": base64.b64encode(download.pdf).decode("ascii")})


@endpoint
async def download(request: Request) -> Response:
    result, _token = await _service(request, "download", _number(request))
    return _pdf(result)


@endpoint
async def member_status(request: Request) -> Response:
    limit(request, state(request).logins)  # the approval number is a credential: guesses are limited
    body = await json_body(request)
    issue = integer(body, "issue_passwords", default=0, nullable=True)
    if issue is not None and issue < 0:
        raise BadInput(field="issue_passwords", reason="out_of_range", value=issue)
    return await _answer(request, "member_status",
                         id_type=text(body, "id_type", required=False, default="resident_id", max_length=32),
                         id_number=text(body, "id_number", max_length=64), name=text(body, "name", max_length=256),
                         approval_no=text(body, "approval_no", required=False, max_length=256),
                         issue_passwords=issue)


@endpoint
async def member_info(request: Request) -> Response:
    return await _answer(request, "member_info")


@endpoint
async def member_photo(request: Request) -> Response:
    body = await json_body(request)
    return await _answer(request, "choose_member_photo", text(body, "source", max_length=32))


def _details(body: dict) -> dict:
    return {name: text(body, name, required=False, max_length=256) for name in ("mobile", "email", "birth_date")}


@endpoint
async def member_preview(request: Request) -> Response:
    return await _answer(request, "preview_member_details", **_details(await json_body(request)))


@endpoint
async def member_confirm(request: Request) -> Response:
    return await _answer(request, "confirm_member_details", **_details(await json_body(request)))


@endpoint
async def member_download(request: Request) -> Response:
    body = await json_body(request)
    reveal = body.get("reveal")
    if isinstance(reveal, list):
        if len(reveal) > 32 or not all(isinstance(key, str) and len(key) <= 64 for key in reveal):
            raise BadInput(field="reveal", reason="format")
    elif reveal is not None:
        reveal = text(body, "reveal", max_length=1024)
    result, _token = await _service(request, "member_download", reveal)
    return _pdf(result)


@endpoint
async def request_paper(request: Request) -> Response:
    body = await json_body(request)
    return await _answer(request, "request_paper", _number(request), method=text(body, "method", max_length=32),
                         proxy=boolean(body, "proxy"), address=text(body, "address", required=False, max_length=512))


@endpoint
async def paper_requests(request: Request) -> Response:
    return await _answer(request, "paper_requests")


def holder_routes() -> list[BaseRoute]:
    """Every HolderService method.  A certificate number is the last path segment(s) (it may
    hold a ``/``), after the action, so a route is never ambiguous."""
    post, get = ["POST"], ["GET"]
    return [
        Route(f"{HOLDER}/id-number/check", check_id_number, methods=post),
        Route(f"{HOLDER}/register", register, methods=post),
        Route(f"{HOLDER}/login", login, methods=post),
        Route(f"{HOLDER}/logout", logout, methods=post),
        Route(f"{HOLDER}/terms", terms, methods=get),
        Route(f"{HOLDER}/terms/accept", accept_terms, methods=post),
        Route(f"{HOLDER}/certificates", certificates, methods=get),
        Route(f"{HOLDER}/certificates/{{no:path}}", certificate, methods=get),
        Route(f"{HOLDER}/annotate/{{no:path}}", annotate, methods=post),
        Route(f"{HOLDER}/renew/{{no:path}}", renew, methods=post),
        Route(f"{HOLDER}/download/{{no:path}}", download, methods=get),
        Route(f"{HOLDER}/paper", paper_requests, methods=get),
        Route(f"{HOLDER}/paper/{{no:path}}", request_paper, methods=post),
        Route(f"{HOLDER}/member/status", member_status, methods=post),
        Route(f"{HOLDER}/member/login", login_member, methods=post),
        Route(f"{HOLDER}/member", member_info, methods=get),
        Route(f"{HOLDER}/member/photo", member_photo, methods=post),
        Route(f"{HOLDER}/member/details/preview", member_preview, methods=post),
        Route(f"{HOLDER}/member/details/confirm", member_confirm, methods=post),
        Route(f"{HOLDER}/member/download", member_download, methods=post),
    ]


# --- the public verification API ---------------------------------------------------------------

async def _verified(request: Request, threads: Optional[str] = None, **what) -> Response:
    from certcli.verification.document import verify_document

    server = state(request)
    now, lang = clock.now(), request_lang(request)
    document = await server.in_thread(lambda: verify_document(server.home, now, lang, **what), threads)
    return json_response(document)


@endpoint
async def lookup(request: Request) -> Response:
    """The public 证书查验: a wrong name and an unknown number get the same answer (the
    same query runs), so the number of a stranger's certificate says nothing."""
    limit(request, state(request).lookups)
    number, name = request.query_params.get("number"), request.query_params.get("name")
    if number is None or name is None:
        raise UsageError(detail="number=N&name=NAME")
    return await _verified(request, number=number[:256], name=name[:256])


@endpoint
async def verify_qr(request: Request) -> Response:
    body = await json_body(request)
    return await _verified(request, qr=text(body, "payload", max_length=16384))


@endpoint
async def verify_pdf(request: Request) -> Response:
    pdf = await read_body(request, state(request).options.max_upload)
    return await _verified(request, threads="pdf", pdf=pdf)


def cross_origin(handler):
    """Any origin may read this answer: a public route that needs no credentials."""

    @functools.wraps(handler)
    async def shared(request: Request) -> Response:
        response = await handler(request)
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response

    return shared


@endpoint
async def trust_pem(request: Request) -> Response:
    """The trust bundle: the file ``--trust-bundle`` names, else the latest one ``admin trust``
    signed and kept in the home (:func:`certcli.home.trust_file`); read afresh each time, so a
    new bundle is served as soon as it is written.  The server cannot sign one itself (that
    needs the root passphrase): without either, 404."""
    server = state(request)
    bundle = await server.in_thread(lambda: published_bundle(server.home, server.options.trust_bundle))
    return Response(bundle, media_type="application/x-pem-file", headers={"Cache-Control": "public, max-age=300"})


def bundle_path(home: str, path: Optional[str]) -> Path:
    """The bundle the server publishes: ``--trust-bundle``, else the home's latest."""
    from certcli.home import trust_file

    return Path(path) if path else trust_file(Path(home))


def published_bundle(home: str, path: Optional[str]) -> bytes:
    from certcli.verification.context import MAX_TRUST_BYTES, read_regular_file

    chosen = bundle_path(home, path)
    if not path and not chosen.is_file():
        raise NotFound(what="trust_bundle", value="certcli admin trust")
    data = read_regular_file(chosen, "--trust-bundle", MAX_TRUST_BYTES + 1)
    if len(data) > MAX_TRUST_BYTES:
        raise BadInput(field="--trust-bundle", reason="too_large")
    return data


@endpoint
async def trust_ledger(request: Request) -> Response:
    """A closed key's ledger (``admin trust`` writes them beside the bundle): what
    ``verify --trust`` and the verification page check a closed key's documents against."""
    from certcli.pki.trust_bundle import ledger_dir_beside
    from certcli.verifier.site import is_ledger_name

    name = request.path_params["name"]
    if not is_ledger_name(name):
        raise NotFound(what="ledger", value=name[:64])
    server = state(request)

    def read() -> bytes:
        from certcli.verification.context import read_regular_file

        path = ledger_dir_beside(bundle_path(server.home, server.options.trust_bundle)) / name
        if not path.is_file():
            raise NotFound(what="ledger", value=name)
        return read_regular_file(path, "ledger", 256 * 2**20)

    data = await server.in_thread(read)
    return Response(data, media_type="application/octet-stream", headers={"Cache-Control": "public, max-age=300"})


def public_routes() -> list[BaseRoute]:
    return [
        Route("/trust.pem", cross_origin(trust_pem), methods=["GET"]),
        Route("/trust.ledgers/{name}", cross_origin(trust_ledger), methods=["GET"]),
        Route(f"{API}/lookup", cross_origin(lookup), methods=["GET"]),
        Route(f"{API}/verify/qr", cross_origin(verify_qr), methods=["POST"]),
        Route(f"{API}/verify/pdf", cross_origin(verify_pdf), methods=["POST"]),
    ]


# --- the verification page ----------------------------------------------------------------------

def page_prefix(options: ServeOptions) -> str:
    """The page's path: the verify URL's (read from the store when the server starts), or
    ``/v``; "" when it is the site's root."""
    from certcli.settings import page_path, stored_verify_url

    return page_path(stored_verify_url(options.home))


def page_paths(prefix: str) -> dict[str, str]:
    """path -> what it serves, for the routes and the OpenAPI document alike."""
    from certcli.verifier.site import DATA_FILE, STATIC_FILES

    paths = {prefix or "/": "page"}
    if prefix:
        paths[prefix + "/"] = "page"
    paths.update({f"{prefix}/{name}": name for name in (*STATIC_FILES, DATA_FILE)})
    return paths


def _page_response(body: bytes, media_type: str) -> Response:
    from certcli.verifier.site import csp

    return Response(body, media_type=media_type, headers={"Content-Security-Policy": csp("'self'"),
                                                          "Cache-Control": "no-cache"})


def page_routes(options: ServeOptions, prefix: Optional[str] = None) -> list[BaseRoute]:
    """The verification page at the path of the verify URL (``admin config --verify-url``,
    ``/v`` without one): ``index.html``, its scripts and style, and ``trust-data.js`` made
    from the bundle ``/trust.pem`` serves (read afresh, like it).  Each answer carries the
    page's own Content-Security-Policy (scripts and style from the page's origin only,
    nothing inline); the API's ``default-src 'none'`` is set only where a response has none."""
    from certcli.verifier import site

    prefix = page_prefix(options) if prefix is None else prefix

    @endpoint
    async def page(request: Request) -> Response:
        return _page_response(site.index_html(prefix + "/"), "text/html; charset=utf-8")

    def static(name: str):
        @endpoint
        async def asset(request: Request) -> Response:
            return _page_response(site.static_file(name), site.STATIC_FILES[name])

        return asset

    @endpoint
    async def data(request: Request) -> Response:
        server = state(request)

        def build() -> bytes:
            from certcli.pki.trust_bundle import ledger_dir_beside

            path = bundle_path(server.home, server.options.trust_bundle)
            text = site.read_bundle(path) if path.is_file() else None
            ledgers = site.ledger_files(ledger_dir_beside(path)) if text is not None else {}
            return site.data_js(text, ledgers, api="", ledger_base="/trust.ledgers/")

        return _page_response(await server.in_thread(build), site.DATA_TYPE)

    routes = []
    for path, what in page_paths(prefix).items():
        handler = page if what == "page" else data if what == site.DATA_FILE else static(what)
        routes.append(Route(path, handler, methods=["GET"]))
    return routes


# --- service routes ------------------------------------------------------------------------------

@endpoint
async def healthz(request: Request) -> Response:
    return json_response({"status": "ok"})


@endpoint
async def openapi(request: Request) -> Response:
    from certcli.server.openapi import document

    return json_response(document(page_paths(request.app.state.page_prefix)), headers={"Cache-Control": "no-cache"})


async def _not_routed(request: Request, error: HTTPException) -> Response:
    if error.status_code == 405:
        response = error_response(request, UsageError(detail=f"{request.method} {request.url.path[:200]}"), 405)
        if error.headers and "Allow" in error.headers:
            response.headers["Allow"] = error.headers["Allow"]
        return response
    if error.status_code == 404:
        return error_response(request, NotFound(what="endpoint", value=request.url.path[:200]))
    return error_response(request, UsageError(detail=str(error.detail)[:200]), error.status_code)


async def _unhandled(request: Request, error: Exception) -> Response:
    return internal_error(request, error)


def create_app(options: ServeOptions) -> Starlette:
    server = ServerState(options)
    prefix = page_prefix(options)

    @asynccontextmanager
    async def lifespan(app):
        yield
        server.pool.close()

    routes = [Route("/healthz", healthz, methods=["GET"]), Route("/openapi.json", openapi, methods=["GET"]),
              *public_routes(), *holder_routes(), *page_routes(options, prefix)]
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={HTTPException: _not_routed, Exception: _unhandled})
    app.state.server = server
    app.state.options = options
    app.state.page_prefix = prefix
    return app


def asgi_app(options: ServeOptions) -> Frontline:
    """The application as served: the routes inside :class:`Frontline` (outermost, so that
    every answer, Starlette's own last-resort 500 included, gets the security headers and
    its access-log line)."""
    return Frontline(create_app(options), hsts=options.tls)


def app_from_environment() -> Frontline:
    """uvicorn's factory (``certcli.server.app:app_from_environment``): every worker
    process builds its app from the options ``certcli serve`` put in the environment."""
    return_large_blocks()
    return asgi_app(ServeOptions.from_env())


def return_large_blocks() -> None:
    """Keep the server's RSS flat: give every large freed block back to the system at once.

    Each password check and each public lookup runs scrypt in a worker thread with a 16 MiB
    work area (issue 12).  glibc serves blocks that large with mmap at first, but raises
    its mmap threshold each time one is freed, so later ones come from the threads' own
    heap arenas and stay resident: a lookup load grew the server from ~130 to ~550 MiB.
    A fixed threshold (``M_MMAP_THRESHOLD``) keeps them mmapped and returned on free.
    Nothing happens where the C library is not glibc."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(-3, 1 << 20)          # M_MMAP_THRESHOLD = -3: 1 MiB, fixed from now on
    except (OSError, AttributeError, TypeError):
        pass
