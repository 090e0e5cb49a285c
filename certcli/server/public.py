"""The public verification API of ``certcli serve`` (SPEC §6): ``/trust.pem`` and the
closed keys' ledgers, ``/api/v1/lookup``, ``/api/v1/verify/qr`` and
``/api/v1/verify/pdf``, each answering the document ``certcli verify --json`` prints
(:func:`certcli.verification.document.verify_document`).  They need no credentials and
answer any origin (``Access-Control-Allow-Origin: *``): a verification page exported to
another host asks them.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Optional

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from certcli import clock
from certcli.errors import BadInput, NotFound, UsageError
from certcli.server.http import endpoint, json_body, json_response, limit, read_body, request_lang, text
from certcli.server.state import state

API = "/api/v1"


async def _verified(request: Request, threads: Optional[str] = None, inline: bool = False, **what) -> Response:
    """The document ``verify --json`` prints, over a pooled store connection: on the event
    loop when ``inline`` and the store is local (see :mod:`certcli.server.state`), else in
    a worker thread of the budget ``threads``."""
    from certcli.verification.document import verify_document

    server = state(request)
    now, lang = clock.now(), request_lang(request)

    def work() -> dict:
        with server.pool.store() as store:
            return verify_document(server.home, now, lang, store=store, **what)

    document = work() if inline and server.reads_inline else await server.in_thread(work, threads)
    return json_response(document)


@endpoint
async def lookup(request: Request) -> Response:
    """The public 证书查验: a wrong name and an unknown number get the same answer (the
    same query runs), so the number of a stranger's certificate says nothing."""
    limit(request, state(request).lookups)
    number, name = request.query_params.get("number"), request.query_params.get("name")
    if number is None or name is None:
        raise UsageError(detail="number=N&name=NAME")
    return await _verified(request, "oracle", number=number[:256], name=name[:256])


@endpoint
async def verify_qr(request: Request) -> Response:
    body = await json_body(request)
    return await _verified(request, inline=True, qr=text(body, "payload", max_length=16384))


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
    from certcli.pki.ledgers import ledger_dir_beside
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
