"""uvicorn's httptools protocol with a bound on each request's head (request line and
headers), the one h11 has (``h11_max_incomplete_event_size``, see certcli.server.run).

httptools (llhttp) takes ~0.1 ms less CPU per request than h11 (bench/server_bench.py),
but it buffers a header of any length: 13 MiB of one header line went in without an
answer, and the worker's memory grew by as much.  This protocol counts the bytes
received while a request's head is incomplete and, past :data:`MAX_HEAD`, answers 400
and closes the connection (at most one read after the bound, as h11 does).
"""
from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_HEAD = 64 * 1024


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    _in_head = True     # until the headers of the connection's first request are complete
    _head_bytes = 0

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._in_head and not self.transport.is_closing():
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD:
                self.logger.warning("Request head too large.")
                self.send_400_response("Request head too large.")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._head_bytes = True, 0

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()
