"""The routes of ``certcli serve`` (SPEC §6).

* ``/api/v1/holder/…``: every :class:`certcli.services.holder.HolderService`
  method, each calling :class:`certcli.services.local.LocalHolderService` per
  request, with that request's bearer token as the session and the server's clock
  (``CERTCLI_NOW`` honoured) as ``now``: the same rules as the CLI, no copy of any.
* The public verification API (:mod:`certcli.server.public`): ``/trust.pem``,
  ``/api/v1/lookup``, ``/api/v1/verify/qr``, ``/api/v1/verify/pdf``.
* ``/healthz`` and ``/openapi.json``.
* The verification page at the path of the verify URL (``admin config --verify-url``;
  ``/v`` without one): :func:`page_routes`, its files from :mod:`certcli.verifier.site`.

The server never signs: it reads the store and the public half of the keys only.
Blocking work (store writes, scrypt, PDF checks) runs in worker threads, so the event
loop keeps answering (:mod:`certcli.server.state` says what runs where).
"""
from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Optional

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from certcli import clock, rules
from certcli.accounts import TokenSession
from certcli.errors import BadInput, NotFound, UsageError
from certcli.server.http import (Frontline, boolean, bearer, endpoint, error_response, integer, internal_error,
                                 json_body, json_response, limit, text)
from certcli.server.options import ServeOptions
from certcli.server.public import API, bundle_path, public_routes
from certcli.server.state import ServerState, state

HOLDER = f"{API}/holder"


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
                         issue_passwords=issue, threads="oracle")   # a guess: scrypt and the 0.25 s floor


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
            from certcli.pki.ledgers import ledger_dir_beside

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
        server.start()
        try:
            yield
        finally:
            server.stop()

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
    options = ServeOptions.from_env()
    if options.database_url:     # a worker process started afresh: the store `certcli serve` was given
        from certcli.home import use_database_url

        use_database_url(options.database_url)
    return asgi_app(options)
