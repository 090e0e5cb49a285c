"""Run the service under uvicorn.

Every worker (``--workers N`` starts N processes) builds its app from the
options in the environment (:func:`certcli.server.app.app_from_environment`).
Logs are JSON lines on stderr (:class:`certcli.server.http.JsonLogFormatter`);
uvicorn's own access log is off, since it would print query strings (a lookup's
name).  The event loop is uvloop's and the HTTP parser httptools (with the bound on a
request's head that h11 has, :mod:`certcli.server.protocol`) where they are installed:
together ~0.15 ms less CPU per request than asyncio's loop and h11.  SIGTERM and SIGINT
shut down gracefully: uvicorn stops accepting, finishes the requests in flight, runs the
shutdown, and :func:`serve` returns normally, so ``certcli serve`` exits 0.
"""
from __future__ import annotations

import os
import signal

from certcli.server.options import ENV, ServeOptions

GRACEFUL_SECONDS = 10


def log_config(level: str = "INFO") -> dict:
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "certcli.server.http.JsonLogFormatter"}},
        "handlers": {"stderr": handler},
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.error": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
            "certcli.server": {"handlers": ["stderr"], "level": level, "propagate": False},
        },
    }


def http_protocol() -> str:
    """httptools with a bounded request head where it is installed, else h11 (whose bound
    is ``h11_max_incomplete_event_size``)."""
    try:
        import httptools  # noqa: F401
    except ImportError:
        return "h11"
    return "certcli.server.protocol:BoundedHttpToolsProtocol"


def serve(options: ServeOptions) -> str | None:
    """Serve until SIGTERM or SIGINT; returns the name of the signal that stopped it."""
    import uvicorn

    os.environ[ENV] = options.to_env()  # read by every worker, this process included
    config = uvicorn.Config(
        "certcli.server.app:app_from_environment", factory=True, host=options.host, port=options.port,
        workers=options.workers, ssl_certfile=options.tls_cert, ssl_keyfile=options.tls_key,
        log_config=log_config(), access_log=False, server_header=False, proxy_headers=True,
        forwarded_allow_ips=options.forwarded_allow_ips, timeout_graceful_shutdown=GRACEFUL_SECONDS,
        lifespan="on", h11_max_incomplete_event_size=64 * 1024, http=http_protocol())
    stopped: list[str] = []

    def note(signum, _frame):  # uvicorn re-raises the signal it handled once it has shut down
        stopped.append(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, note) for sig in (signal.SIGTERM, signal.SIGINT)}
    started = True
    try:
        if options.workers > 1:
            from uvicorn.supervisors import Multiprocess

            sock = config.bind_socket()
            Multiprocess(config, sockets=[sock]).run()
        else:
            server = uvicorn.Server(config)
            server.run()
            started = server.started
    except SystemExit:  # uvicorn exits when it cannot bind or start, after logging why
        started = False
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not started and not stopped:
        from certcli.errors import ServeFailed

        raise ServeFailed(address=f"{options.host}:{options.port}")
    return stopped[-1] if stopped else None
