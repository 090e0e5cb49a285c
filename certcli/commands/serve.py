"""serve: the issuer's HTTP service over the home's store (SPEC §6).

It never signs and asks for no passphrase (``admin process`` signs, here or on any
machine sharing the store).  starlette and uvicorn are imported here only, when
the service starts.
"""
from pathlib import Path
from typing import Annotated, Optional

import typer

from certcli.commands._runtime import handled, is_loopback, report, rt
from certcli.errors import UsageError


def register(app: typer.Typer) -> None:
    app.command("serve")(handled(serve))


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on. Anything but loopback needs TLS "
                                      "(--tls-cert/--tls-key) or --allow-insecure-public.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8765,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Worker processes.")] = 1,
    tls_cert: Annotated[Optional[Path], typer.Option("--tls-cert", help="Serve HTTPS: certificate chain (PEM).")]
    = None,
    tls_key: Annotated[Optional[Path], typer.Option("--tls-key", help="Serve HTTPS: its private key (PEM, "
                                                    "unencrypted).")] = None,
    allow_insecure_public: Annotated[bool, typer.Option(
        "--allow-insecure-public", help="Listen on a public address over plain HTTP (only behind a TLS proxy).")]
    = False,
    lookup_rate: Annotated[str, typer.Option("--lookup-rate", help="Public lookups per client address, e.g. "
                                             "30/min (default), 5/s; off for no limit.")] = "30/min",
    login_rate: Annotated[str, typer.Option("--login-rate", help="Register, login and member status requests per "
                                            "client address (default 20/min; off for no limit), on top of the "
                                            "per-account lockout.")] = "20/min",
    max_upload_mb: Annotated[int, typer.Option("--max-upload-mb", min=1, max=20,
                                               help="Largest PDF accepted by /api/v1/verify/pdf.")] = 10,
    trust_bundle: Annotated[Optional[Path], typer.Option(
        "--trust-bundle", help="The trust bundle GET /trust.pem serves (as `admin trust -o FILE` wrote it; read "
                               "afresh on each request).")] = None,
    forwarded_allow_ips: Annotated[str, typer.Option(
        "--forwarded-allow-ips", help="Proxies whose X-Forwarded-For names the client address (comma-separated; "
                                      "default 127.0.0.1).")] = "127.0.0.1",
) -> None:
    """Run the HTTP service: holders' commands in remote mode (--server) and the public verification API."""
    from certcli.server.options import ServeOptions, parse_rate

    runtime = rt()
    if (tls_cert is None) != (tls_key is None):
        report(UsageError(detail=runtime.t("serve_tls_pair")))
    if not (tls_cert or allow_insecure_public or is_loopback(host)):
        report(UsageError(detail=runtime.t("serve_needs_tls", host=host)))
    rates = {}
    for option, value in (("--lookup-rate", lookup_rate), ("--login-rate", login_rate)):
        try:
            rates[option] = parse_rate(value)
        except ValueError:
            report(UsageError(detail=runtime.t("serve_bad_rate", option=option, value=value[:40])))
    for path in (tls_cert, tls_key, trust_bundle):
        if path is not None and not path.is_file():
            from certcli.errors import FileError

            report(FileError(path=str(path), reason="not a file"))
    runtime.store()  # a missing or foreign store is reported now, before listening
    runtime.close()
    options = ServeOptions(home=str(Path(runtime.home).resolve()), host=host, port=port, workers=workers,
                           tls_cert=str(tls_cert) if tls_cert else None, tls_key=str(tls_key) if tls_key else None,
                           lookup_rate=rates["--lookup-rate"], login_rate=rates["--login-rate"],
                           max_upload=max_upload_mb * 2**20, forwarded_allow_ips=forwarded_allow_ips,
                           lang=runtime.lang, trust_bundle=str(Path(trust_bundle).resolve()) if trust_bundle else None,
                           database_url=runtime.database_url)
    from certcli.server.run import serve as run_server

    stopped_by = run_server(options)
    runtime.emit({"served": {"host": host, "port": port, "workers": workers, "tls": options.tls},
                  "stopped_by": stopped_by})
