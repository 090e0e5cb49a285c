"""admin config / admin publish-verifier: the scannable QR code and its verification page (SPEC §6).

* ``admin config`` shows the issuer's settings; ``--verify-url URL`` sets the address of the
  verification page (documents processed from then on carry ``URL#PAYLOAD`` in their QR
  code), ``--no-verify-url`` goes back to the bare payload.  Changing it needs the key
  passphrase, like every administrator action that changes what is issued.
* ``admin publish-verifier -o DIR`` writes the page as static files for any web host (and
  for ``file://``): it needs the trust bundle ``admin trust`` signed, and no passphrase.
"""
from pathlib import Path
from typing import Annotated, Optional

import typer

from certcli.commands._admin import unlock
from certcli.commands._runtime import PASSPHRASE_STDIN, handled, report, rt
from certcli.errors import UsageError


def register(admin_app: typer.Typer) -> None:
    admin_app.command("config")(handled(config))
    admin_app.command("publish-verifier")(handled(publish_verifier))


def config(
    verify_url: Annotated[Optional[str], typer.Option(
        "--verify-url", help="Address of the verification page, e.g. https://verify.example.cn/v: QR codes of "
                             "documents processed from now on carry URL#PAYLOAD (https; http only for loopback).")]
    = None,
    no_verify_url: Annotated[bool, typer.Option("--no-verify-url", help="QR codes carry the bare payload "
                                                "again.")] = False,
    passphrase_stdin: Annotated[bool, PASSPHRASE_STDIN] = False,
) -> None:
    """Show the issuer's settings, or set the verify URL printed in QR codes."""
    from certcli import settings

    runtime = rt()
    if verify_url is not None and no_verify_url:
        report(UsageError(detail="--verify-url | --no-verify-url"))
    store = runtime.store()
    changed = verify_url is not None or no_verify_url
    if changed:
        wanted = None if no_verify_url else settings.check_verify_url(verify_url)   # bad input before the passphrase
        unlock(runtime, passphrase_stdin)
        settings.set_verify_url(store, wanted, runtime.now)
    current = settings.settings(store)
    document = {**current, "changed": changed}

    def human() -> None:
        console = runtime.console
        url = current["verify_url"]
        console.print(runtime.t("config_verify_url", url=url) if url else runtime.t("config_no_verify_url"),
                      markup=False)
        console.print(runtime.t("config_page_path", path=current["page_path"] or "/"), markup=False)

    runtime.emit(document, human)


def publish_verifier(
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder to write the page into (index.html, "
                                         "verifier.js, page.js, style.css, trust-data.js, trust.pem, "
                                         "trust.ledgers/).")],
    api_url: Annotated[Optional[str], typer.Option(
        "--api-url", help="The issuer's server the page asks for live status, lookups and PDF checks (default: "
                          "the verify URL's origin; 'none' for none).")] = None,
    trust_bundle: Annotated[Optional[Path], typer.Option(
        "--trust-bundle", help="The bundle to embed (default: the latest `admin trust` signed in this home).")]
    = None,
    max_bundle_age: Annotated[Optional[int], typer.Option(
        "--max-bundle-age-days", min=1, max=366, help="The page treats the status as unknown (NOT VALID, "
                                                      "bundle_stale) once the bundle is older than this.")] = None,
) -> None:
    """Write the verification page as static files for any web host; it also works opened from the folder."""
    from certcli import settings
    from certcli.errors import NotFound
    from certcli.home import trust_file, user_file
    from certcli.verifier import site

    runtime = rt()
    url = settings.verify_url(runtime.store()) if runtime.has_store() else None
    if api_url is None:
        api = site.api_origin(url)
    elif api_url.strip().lower() == "none":
        api = None
    else:
        api = site.api_origin(api_url)
        if api is None or api_url.rstrip("/") != api:
            from certcli.errors import BadInput

            report(BadInput(field="--api-url", value=api_url[:200], reason="format"))
    bundle = trust_bundle or trust_file(runtime.home)
    if not bundle.is_file():
        report(NotFound(what="trust_bundle", value=str(bundle) if trust_bundle else "certcli admin trust"))
    with user_file(output):
        result = site.publish(output, bundle, api=api, lang="zh", max_bundle_age_days=max_bundle_age)  # zh first
    result["verify_url"] = url

    def human() -> None:
        console = runtime.console
        console.print(str(output), markup=False)
        console.print(runtime.t("verifier_published", files=len(result["files"]),
                                api=result["api"] or runtime.t("verifier_no_api")), markup=False)

    runtime.emit(result, human)
