"""A lean HTTP/1.1 keep-alive client for the serve benchmark (bench/server_bench.py).

The clients run on the same 2 cores as the server, so every microsecond a client spends
per request is taken from the server.  ``httpx.AsyncClient`` spent ~1 ms of CPU per
request (its pool, headers and URL models, anyio), about as much as the framework
itself: with it the clients alone capped ``GET /healthz`` near 1,000/s.  This client
speaks just enough HTTP/1.1 over asyncio streams: one connection, one request at a
time, ``Content-Length`` or chunked bodies, reconnects when the server closes.  It is
for 127.0.0.1 only (no TLS, no redirects, no proxies) and bounded by its callers: one
connection per client coroutine.
"""
from __future__ import annotations

import asyncio
import json
from typing import Optional
from urllib.parse import urlencode, urlsplit


class Answer:
    __slots__ = ("status", "headers", "body")

    def __init__(self, status: int, headers: dict, body: bytes):
        self.status, self.headers, self.body = status, headers, body

    @property
    def status_code(self) -> int:
        return self.status

    def json(self):
        return json.loads(self.body)


class LoopbackClient:
    """One keep-alive connection to ``base_url`` (``http://127.0.0.1:PORT``)."""

    def __init__(self, base_url: str, timeout: float = 30.0):
        parts = urlsplit(base_url)
        if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("loopback http:// only")
        self.host, self.port, self.timeout = parts.hostname, parts.port or 80, timeout
        self._host_header = f"Host: {parts.netloc}\r\n".encode("ascii")
        self._reader: Optional[asyncio.StreamReader] = None
        self._writer: Optional[asyncio.StreamWriter] = None

    async def get(self, path: str, params: Optional[dict] = None, headers: Optional[dict] = None) -> Answer:
        if params:
            path = f"{path}?{urlencode(params)}"
        return await self.request("GET", path, headers=headers)

    async def post(self, path: str, json: object = None, headers: Optional[dict] = None) -> Answer:
        import json as _json

        body = _json.dumps(json).encode("utf-8")
        return await self.request("POST", path, body, {"Content-Type": "application/json", **(headers or {})})

    async def request(self, method: str, path: str, body: bytes = b"", headers: Optional[dict] = None) -> Answer:
        return await asyncio.wait_for(self._exchange(method, path, body, headers), self.timeout)

    async def _exchange(self, method: str, path: str, body: bytes, headers: Optional[dict]) -> Answer:
        head = [f"{method} {path} HTTP/1.1\r\n".encode("ascii"), self._host_header]
        for name, value in (headers or {}).items():
            head.append(f"{name}: {value}\r\n".encode("latin-1"))
        if body or method == "POST":
            head.append(b"Content-Length: %d\r\n" % len(body))
        head.append(b"\r\n")
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        try:
            self._writer.write(b"".join(head) + body)
            answer, keep = await self._read_answer(self._reader)
        except BaseException:
            await self.aclose()
            raise
        if not keep:
            await self.aclose()
        return answer

    @staticmethod
    async def _read_answer(reader: asyncio.StreamReader) -> tuple[Answer, bool]:
        raw = await reader.readuntil(b"\r\n\r\n")
        lines = raw[:-4].decode("latin-1").split("\r\n")
        version, status = lines[0].split(" ", 2)[:2]
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await reader.readuntil(b"\r\n")   # no trailers from our server
                    break
                chunks.append(await reader.readexactly(size))
                await reader.readexactly(2)
            body = b"".join(chunks)
        else:
            body = await reader.read()
            return Answer(int(status), headers, body), False
        keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        return Answer(int(status), headers, body), keep

    async def aclose(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass
