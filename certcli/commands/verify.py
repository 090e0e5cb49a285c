"""verify: a PDF, a QR payload, or a certificate number + name (SPEC §4)."""
from pathlib import Path
from typing import Annotated, Optional

import typer

from certcli.commands._runtime import handled, report_error, rt


def register(app: typer.Typer) -> None:
    app.command("verify")(handled(verify))


def verify(
    pdf: Annotated[Optional[Path], typer.Argument(help="A certificate PDF to check.")] = None,
    qr: Annotated[Optional[str], typer.Option("--qr", help="A QR payload (works offline with --trust).")] = None,
    number: Annotated[Optional[str], typer.Option("--number", help="Certificate number (public lookup).")] = None,
    name: Annotated[Optional[str], typer.Option("--name", help="Holder name, with --number.")] = None,
    trust: Annotated[Optional[Path], typer.Option("--trust", help="Trust bundle (PEM from `admin trust`) to "
                                                  "verify against instead of this home's keys.")] = None,
) -> None:
    """Is this certificate genuine and usable now? Exit 0 valid, 1 not valid."""
    from certcli import verification

    runtime = rt()
    chosen = [x for x in (pdf, qr, number) if x is not None]
    if len(chosen) != 1 or (number is not None and not name):
        report_error("usage_error", runtime.t("usage_error", detail="PATH | --qr PAYLOAD | --number N --name NAME"), 2)
    context = verification.Context.load(runtime.home, trust)
    if pdf is not None:
        verdict = verification.verify_pdf_file(pdf, context, runtime.now)
    elif qr is not None:
        verdict = verification.verify_qr(qr, context, runtime.now)
    else:
        verdict = verification.verify_lookup(context, number, name, runtime.now)
    document = verdict.to_json()
    runtime.emit(document, lambda: _print_verdict(verdict))
    if not verdict.valid:
        raise typer.Exit(1)


def _print_verdict(verdict) -> None:
    from rich.table import Table

    runtime = rt()
    zh = runtime.lang == "zh"
    title = ("有效" if verdict.valid else "无效") if zh else ("VALID" if verdict.valid else "NOT VALID")
    colour = "green" if verdict.valid else "red"
    runtime.console.print(f"[bold {colour}]{title}[/]")
    for key, value in verdict.facts.items():
        runtime.console.print(f"  {key}: {value}", markup=False)
    table = Table("check" if not zh else "检查项", "result" if not zh else "结果", "reason" if not zh else "原因")
    for check in verdict.checks:
        mark = "✓" if check.ok else ("–" if check.ok is None else "✗")
        table.add_row(check.label(runtime.lang), mark, check.explain(runtime.lang))
    runtime.console.print(table)
