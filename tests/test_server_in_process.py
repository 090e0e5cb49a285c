"""The parts of ``certcli serve`` tested in this process, without a server process: a bug at
the error boundary, straight over ASGI, and the store pool (certcli/server/pool.py)."""
from __future__ import annotations

import json
import threading
import time

import pytest

from conftest import HOLDER_ID

H = "/api/v1/holder"


# --- the error boundary --------------------------------------------------------------------------

def test_a_bug_is_one_500_line_that_says_nothing_of_the_data(serve_template, monkeypatch, caplog):
    """In-process, straight over ASGI: an unexpected exception becomes internal_error, with the
    security headers, and its text (which may hold data) reaches neither the answer nor the log."""
    import asyncio

    from certcli.server.app import asgi_app
    from certcli.server.options import ServeOptions
    from certcli.services.local import LocalHolderService

    def broken(self, *args, **kwargs):
        raise RuntimeError(f"boom {HOLDER_ID}")

    monkeypatch.setattr(LocalHolderService, "certificates", broken)
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": f"{H}/certificates", "raw_path": f"{H}/certificates".encode(), "query_string": b"",
             "root_path": "", "headers": [(b"authorization", b"Bearer x"), (b"host", b"x")],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    asyncio.run(asgi_app(ServeOptions(home=str(serve_template)))(scope, receive, send))
    start, body = sent[0], b"".join(m.get("body", b"") for m in sent[1:])
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    assert start["status"] == 500 and headers["x-frame-options"] == "DENY"
    assert json.loads(body) == {"error": {"code": "internal_error", "message": "Internal error (RuntimeError). "
                                          "Nothing was changed.", "data": {"kind": "RuntimeError"}}}
    assert HOLDER_ID.encode() not in body and HOLDER_ID not in caplog.text and "internal_error" in caplog.text


# --- the store pool --------------------------------------------------------------------------

def test_the_store_pool_caps_open_connections_and_a_request_past_the_cap_waits_then_gets_a_503(tmp_path,
                                                                                                 monkeypatch):
    from conftest import database_url_for, store_of
    from certcli.errors import StoreUnavailable
    from certcli.server.http import status_for
    from certcli.server.pool import StorePool, pool_size

    home = tmp_path / "home"
    store_of(home, create=True).close()
    if database_url_for(home):
        monkeypatch.setenv("CERTCLI_DATABASE_URL", database_url_for(home))
    assert StorePool(home).max_open == pool_size() > 64          # SQLite: every thread of the budgets
    pool = StorePool(home, max_open=2, max_idle=1, wait=0.3)
    release, holding, peak = threading.Event(), threading.Barrier(3), []

    def hold():
        with pool.store() as store:
            assert store.one("SELECT count(*) AS n FROM certificates") == {"n": 0}
            holding.wait(timeout=10)
            peak.append(pool.open_count)
            release.wait(timeout=10)

    holders = [threading.Thread(target=hold) for _ in range(2)]
    for thread in holders:
        thread.start()
    holding.wait(timeout=10)                                      # both connections in use
    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as refused:
        with pool.store():
            pass
    assert time.monotonic() - started >= 0.3                      # it waited the bound, no more connection
    assert refused.value.data["reason"].startswith("busy") and status_for(refused.value) == 503
    got = []

    def wait_for_one():
        with pool.store():
            got.append(pool.open_count)

    waiter = threading.Thread(target=wait_for_one)
    pool.wait = 10
    waiter.start()
    time.sleep(0.1)
    release.set()                                                 # a holder's connection goes to the waiter
    for thread in (*holders, waiter):
        thread.join(timeout=10)
    assert got and got[0] <= 2 and peak == [2, 2]
    assert pool.open_count == 1                                   # one idle (max_idle), the other closed
    pool.close()
    assert pool.open_count == 0
