"""list, info, annotate, renew, download: a holder's certificate commands."""
from pathlib import Path
from typing import Annotated, Optional

import typer

from certcli.commands._runtime import handled, rt
from certcli.services.factory import holder_service

DAYS_HELP = "Validity in whole days, 1–90 (default and recommended: 90)."


def register(app: typer.Typer) -> None:
    app.command("list")(handled(list_certificates))
    app.command("info")(handled(info))
    app.command("annotate")(handled(annotate))
    app.command("renew")(handled(renew))
    app.command("download")(handled(download))


def _state_text(summary: dict) -> str:
    runtime = rt()
    until = (summary.get("valid_until") or "")[:16].replace("T", " ")
    return runtime.t(f"state_{summary['state']}", valid_until=until)


def list_certificates() -> None:
    """Your certificates: status and annotation state."""
    runtime = rt()
    document = holder_service(runtime).certificates()
    rows = document["certificates"]
    if not rows:
        document["message"] = runtime.t("empty_list")

    def human():
        if not rows:
            runtime.console.print(runtime.t("empty_list"), markup=False)
            return
        from rich.table import Table

        table = Table(show_lines=False)
        for i, label in enumerate(("certificate_no", "qualification", "level", "issued", "status", "annotation")):
            # numbers and dates never wrap: people copy them into the next command
            table.add_column(runtime.t(f"label.{label}"), no_wrap=i in (0, 3), overflow="fold")
        for row in rows:
            table.add_row(row["certificate_no"], row["qualification"], row["level"], row["issued_on"],
                          runtime.t(f"status_{row['status']}"), _state_text(row["annotation"]))
        runtime.console.print(table)

    runtime.emit(document, human)


def info(certificate_no: Annotated[str, typer.Argument(help="Certificate number.")]) -> None:
    """Details of one of your certificates, with its annotation history."""
    runtime = rt()
    details = holder_service(runtime).certificate(certificate_no)

    def human():
        for key in ("certificate_no", "name", "id_number_masked", "qualification", "level", "specialty",
                    "issued_on", "issuer"):
            if details.get(key):
                runtime.console.print(f"{runtime.t('label.' + key)}: {details[key]}", markup=False)
        runtime.console.print(f"{runtime.t('label.status')}: {runtime.t('status_' + details['status'])}")
        runtime.console.print(f"{runtime.t('label.annotation')}: {_state_text(details['annotation'])}")
        if not details["exempt"]:
            runtime.console.print(f"{runtime.t('label.quota_remaining')}: {details['quota_remaining']}")
        for a in details["annotations"]:
            runtime.console.print(f"  {a['annotation_no']}  {a['scenario']}  {a['days']}d  {a['applied_at'][:16]}  "
                                  f"{a['state']}", markup=False)

    runtime.emit(details, human)


def annotate(
    certificate_no: Annotated[str, typer.Argument(help="Certificate number.")],
    scenario: Annotated[Optional[str], typer.Option("--scenario", help="Usage scenario (self-use).")] = None,
    days: Annotated[int, typer.Option("--days", help=DAYS_HELP)] = 90,
) -> None:
    """Apply for an annotation (加注): a usage scenario and a validity period."""
    _print_applied(holder_service(rt()).annotate(certificate_no, scenario=scenario, days=days))


def renew(
    certificate_no: Annotated[str, typer.Argument(help="Certificate number.")],
    days: Annotated[int, typer.Option("--days", help=DAYS_HELP)] = 90,
) -> None:
    """Apply again with the scenario of your latest annotation (e.g. after it expired)."""
    _print_applied(holder_service(rt()).renew(certificate_no, days=days))


def _print_applied(result: dict) -> None:
    runtime = rt()
    shown = result["valid_until"][:16].replace("T", " ")
    runtime.emit(result, runtime.t("annotation_applied", annotation_no=result["annotation_no"], valid_until=shown))


def download(
    certificate_no: Annotated[str, typer.Argument(help="Certificate number.")],
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Where to write the PDF "
                                                   "(default: ./<certificate_no>.pdf).")] = None,
) -> None:
    """Save the signed PDF of your certificate (needs a completed, unexpired annotation, unless exempt)."""
    import re

    runtime = rt()
    download = holder_service(runtime).download(certificate_no)
    # the default name is built from the number: never let it climb out of the current folder
    target = output or Path(re.sub(r"[^A-Za-z0-9_-]", "_", certificate_no) + ".pdf")
    save_download(download, target)


def save_download(download, target: Path) -> None:
    """Write a downloaded PDF where the holder asked and report it (certificates and member certificates)."""
    import hashlib

    from certcli.home import write_public

    runtime = rt()
    write_public(target, download.pdf)
    runtime.emit({"certificate_no": download.certificate_no, "path": str(target), "bytes": len(download.pdf),
                  "sha256": hashlib.sha256(download.pdf).hexdigest(), **download.facts},
                 runtime.t("downloaded", path=target))
