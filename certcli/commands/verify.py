"""verify: a PDF, a QR payload, or a certificate number + name (SPEC §4).

Exit 0 only when every check passed, 1 when the certificate is NOT valid
(with the reason), 6 for input that cannot be read at all (a missing file, a
bad trust bundle), 7 when there is nothing to trust (no keys, no --trust).
"""
from datetime import datetime
from pathlib import Path
from typing import Annotated, Optional

import typer

from certcli.commands._runtime import handled, report_error, rt
from certcli.errors import ExitStatus

# fact -> catalog label (certcli/data/messages.json)
FACT_LABELS = {"certificate_no": "certificate_no", "name": "name", "qualification": "qualification",
               "level": "level", "issued_on": "issued_on", "issuer": "issuer", "status": "status",
               "qualification_code": "qualification_code", "seal": "e_seal", "signed_at": "signed_at",
               "valid_from": "valid_from", "valid_until": "valid_until", "key_id": "key_id",
               # membership: what the holder chose to disclose, and the public lookup's extras
               "approval_no": "approval_no", "birth_date": "birth_date", "mobile": "mobile", "email": "email",
               "inspection": "inspection", "transfers": "transfers", "kind": "kind",
               "membership": "membership_review", "paper_certificate": "paper_certificate",
               "latest_inspection": "latest_inspection", "inspection_overdue": "inspection_overdue",
               "paper_invalid_from": "paper_invalid_from"}


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
    from certcli.verification import checks as verification

    runtime = rt()
    chosen = [x for x in (pdf, qr, number) if x is not None]
    if len(chosen) != 1 or (number is not None and not name) or (name is not None and number is None):
        report_error("usage_error", runtime.t("usage_error", detail="PATH | --qr PAYLOAD | --number N --name NAME"),
                     ExitStatus.USAGE)
    context = verification.Context.load(runtime.home, trust)
    try:
        if pdf is not None:
            verdict = verification.verify_pdf_file(pdf, context, runtime.now)
        elif qr is not None:
            verdict = verification.verify_qr(qr, context, runtime.now)
        else:
            verdict = verification.verify_lookup(context, number, name, runtime.now)
    finally:
        context.close()
    runtime.emit(verdict.to_json(runtime.lang), lambda: _print_verdict(verdict))
    if not verdict.valid:
        raise typer.Exit(ExitStatus.NOT_VALID)


def _fact_text(key: str, value, lang: str) -> str:
    from certcli.verification.checks import cst_text

    if isinstance(value, datetime):
        return cst_text(value)
    from certcli import i18n

    worded = {"status": "status_", "membership": "progress_", "paper_certificate": "paper_state_",
              "kind": "kind_"}.get(key)
    if worded:
        value = i18n.words(f"{worded}{value}", lang, value)
    if isinstance(value, bool):
        return rt().t("label.yes" if value else "label.no")
    return "—" if value in (None, "") else str(value)


def _print_verdict(verdict) -> None:
    from rich.table import Table

    runtime = rt()
    lang = runtime.lang
    colour = "green" if verdict.valid else "red"
    runtime.console.print(f"[bold {colour}]{_escape(verdict.sentence(lang))}[/]")
    for key, value in verdict.facts.items():
        if key in ("valid_from", "valid_until") and value is None:
            continue
        label = runtime.t(f"label.{FACT_LABELS[key]}") if key in FACT_LABELS else key
        runtime.console.print(f"  {label}: {_fact_text(key, value, lang)}", markup=False)
    table = Table(*(runtime.t(f"label.{name}") for name in ("check", "result", "explanation")))
    for check in verdict.checks:
        mark = "✓" if check.ok else ("–" if check.ok is None else "✗")
        style = "green" if check.ok else ("dim" if check.ok is None else "red")
        table.add_row(_escape(check.label(lang)), f"[{style}]{mark}[/]", _escape(check.explain(lang)))
    runtime.console.print(table)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
