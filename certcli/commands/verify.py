"""verify: a PDF, a QR payload, or a certificate number + name (SPEC §4).

Exit 0 only when every check passed, 1 when the certificate is NOT valid
(with the reason), 6 for input that cannot be read at all (a missing file, a
FIFO, device or directory, a bad trust bundle), 7 when there is nothing to
trust (no keys, no --trust).  The checks are made at ``checked_at``; when
``CERTCLI_NOW`` moved the clock the output says so (``clock_overridden``).

Several paths, or a folder, or ``--jsonl``: batch verification
(:mod:`certcli.commands._verify_batch`); one file keeps the output above.
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
               "valid_from": "valid_from", "valid_until": "valid_through", "key_id": "key_id",
               # membership: what the holder chose to disclose, and the public lookup's extras
               "approval_no": "approval_no", "birth_date": "birth_date", "mobile": "mobile", "email": "email",
               "inspection": "inspection", "transfers": "transfers", "kind": "kind",
               "membership": "membership_review", "paper_certificate": "paper_certificate",
               "latest_inspection": "latest_inspection", "inspection_overdue": "inspection_overdue",
               "paper_invalid_from": "paper_invalid_from"}


def register(app: typer.Typer) -> None:
    app.command("verify")(handled(verify))


def verify(
    pdfs: Annotated[Optional[list[Path]], typer.Argument(
        metavar="[PATH]...", show_default=False,
        help="A certificate PDF to check; or several files and folders (folders: every *.pdf in them, "
             "recursively), checked in parallel, one line each and a summary.")] = None,
    qr: Annotated[Optional[str], typer.Option("--qr", help="A QR payload, or the URL#PAYLOAD of a QR code with a "
                                              "verify URL (works offline with --trust).")] = None,
    number: Annotated[Optional[str], typer.Option("--number", help="Certificate number (public lookup).")] = None,
    name: Annotated[Optional[str], typer.Option("--name", help="Holder name, with --number.")] = None,
    trust: Annotated[Optional[Path], typer.Option("--trust", help="Trust bundle (PEM from `admin trust`) to "
                                                  "verify against instead of this home's keys.")] = None,
    ledgers: Annotated[Optional[Path], typer.Option("--ledgers", help="Folder of the closed keys' ledgers (default: "
                                                    "beside the bundle, STEM.ledgers/). With --trust.")] = None,
    max_bundle_age: Annotated[Optional[str], typer.Option("--max-bundle-age", help="Refuse (NOT VALID, bundle_stale) "
                                                          "a bundle older than this, e.g. 7d, 12h. With --trust.")]
    = None,
    jsonl: Annotated[bool, typer.Option("--jsonl", help="Batch: print one JSON result per line as each file is "
                                        "checked, then a summary line (also for one file).")] = False,
    workers: Annotated[Optional[int], typer.Option("--workers", min=1, help="Batch: worker processes (default: "
                                                   "the number of cores); with --server, requests at a time "
                                                   "(default 4).")] = None,
) -> None:
    """Is this certificate genuine and usable now? Exit 0 valid, 1 not valid.

    With several files or a folder: exit 0 only if every file is valid, 1 if any is not, 6 if
    any could not be read (6 wins over 1). --json prints {"results": [...], "summary": {...}}."""
    from certcli.services.factory import verifier

    runtime = rt()
    pdf = pdfs[0] if pdfs else None
    chosen = [x for x in (pdf, qr, number) if x is not None]
    if len(chosen) != 1 or (number is not None and not name) or (name is not None and number is None):
        report_error("usage_error", runtime.t("usage_error", detail="PATH | --qr PAYLOAD | --number N --name NAME"),
                     ExitStatus.USAGE)
    if trust is None and (ledgers is not None or max_bundle_age is not None):
        report_error("usage_error", runtime.t("usage_error", detail="--ledgers and --max-bundle-age go with --trust"),
                     ExitStatus.USAGE)
    if pdf is None and (jsonl or workers is not None):
        report_error("usage_error", runtime.t("usage_error", detail="--jsonl and --workers go with PATH..."),
                     ExitStatus.USAGE)
    max_age = _duration(max_bundle_age, runtime) if max_bundle_age is not None else None
    if jsonl or _is_batch(pdfs):      # several paths or a folder; --jsonl: the batch's lines for one file too
        from certcli.commands import _verify_batch

        _verify_batch.run(pdfs, jsonl=jsonl, workers=workers, trust=trust, ledgers=ledgers, max_bundle_age=max_age)
    # the document is built by certcli.verification.document: here, or (--server) by the server
    document = verifier(runtime, trust, ledgers, max_age).verify(pdf=pdf, qr=qr, number=number, name=name)
    runtime.emit(document, lambda: _print_verdict(document))
    if not document["valid"]:
        raise typer.Exit(ExitStatus.NOT_VALID)


def _is_batch(paths) -> bool:
    """More than one path, or a folder (certcli.verification.batch is not imported for one file)."""
    import os

    return bool(paths) and (len(paths) > 1 or os.path.isdir(paths[0]))


def _duration(text: str, runtime):
    """``7d``, ``12h``, ``30m``, ``2w``, ``90s`` → a timedelta (usage error otherwise)."""
    from datetime import timedelta

    units = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
    value = text.strip().lower()
    if len(value) < 2 or value[-1] not in units or not all(c in "0123456789" for c in value[:-1]) or len(value) > 8:
        report_error("usage_error", runtime.t("usage_error", detail="--max-bundle-age DURATION, e.g. 7d, 12h, 30m"),
                     ExitStatus.USAGE)
    return timedelta(**{units[value[-1]]: int(value[:-1])})


# facts that are calendar days (ISO dates): shown in the language's date style
DAY_FACTS = ("issued_on", "birth_date", "paper_invalid_from")


def _fact_text(key: str, value, lang: str) -> str:
    from certcli import i18n

    if key == "valid_until":         # the exclusive end, shown as the last usable day (有效期至 …)
        from certcli import rules

        instant = i18n.as_instant(value)
        return i18n.format_day(rules.valid_through(instant), lang, zone=True) if instant else "—"
    if isinstance(value, datetime) or key in ("signed_at", "valid_from"):
        return i18n.format_instant(value, lang) or "—"
    if key in DAY_FACTS and isinstance(value, str):
        return i18n.format_day(value, lang)
    worded = {"status": "status_", "membership": "progress_", "paper_certificate": "paper_state_",
              "kind": "kind_"}.get(key)
    if worded:
        value = i18n.words(f"{worded}{value}", lang, value)
    if isinstance(value, bool):
        return rt().t("label.yes" if value else "label.no")
    return "—" if value in (None, "") else str(value)


def _shown_facts(facts: dict):
    """(label, text) of the facts a person reads: the qualification by name (its code only when
    it has none), the annotation's end as its last usable day."""
    runtime = rt()
    for key, value in facts.items():
        if key in ("valid_from", "valid_until") and value is None or key == "valid_through":
            continue
        if key == "qualification_code" and facts.get("qualification"):
            continue
        if key == "level" and not value and facts.get("kind") == "membership":   # a membership has no level
            continue
        label = runtime.t(f"label.{FACT_LABELS[key]}") if key in FACT_LABELS else key
        yield label, _fact_text(key, value, runtime.lang)


def _explanation(check, facts: dict, lang: str) -> str:
    """A check's outcome in words: its reason, and its detail with seals named and dates in the
    language's style (``--json`` keeps the stable codes)."""
    from certcli import i18n

    reason = i18n.words(f"reason.{check.reason}", lang, check.reason)
    detail = check.detail or ""
    if check.name == "signer_chain" and check.ok and detail:
        detail = i18n.words(f"seal.{detail}", lang, "") or facts.get("seal") or i18n.t("seal.association", lang)
    elif check.name == "annotation_window" and check.reason in ("ok", "annotation_expired"):
        instant = i18n.parse_cst_text(detail)
        if instant is not None:
            from certcli import rules

            detail = rt().t("state_active", valid_through=i18n.format_day(rules.valid_through(instant), lang,
                                                                          zone=True))
            if not check.ok:       # 加注件已过期（有效期至 2026年05月29日（北京时间））
                return f"{reason}（{detail}）" if lang == "zh" else f"{reason} ({detail})"
    return f"{reason} {i18n.localize_dates(detail, lang)}".strip()


def _print_verdict(document: dict) -> None:
    """The verify document (local or from the server) in words."""
    from rich.text import Text

    from certcli.commands._tables import fit_table
    from certcli.verification.context import Check, Verdict

    runtime = rt()
    lang = runtime.lang
    colour = "green" if document["valid"] else "red"
    runtime.console.print(f"[bold {colour}]{_escape(document['verdict'])}[/]")
    checked_at = document.get("checked_at")
    note = Verdict(document["kind"], checked_at=datetime.fromisoformat(checked_at) if checked_at else None,
                   clock_overridden=bool(document.get("clock_overridden"))).clock_note(lang)
    if note:      # CERTCLI_NOW moved the clock: say so, every time
        runtime.console.print(f"[bold yellow]{_escape(note)}[/]")
    from certcli.verification.context import document_notes

    for line in document_notes(document, lang):   # the trust bundle's date, and its warnings
        runtime.console.print(f"[yellow]{_escape(line)}[/]")
    for label, text in _shown_facts(document["facts"]):
        runtime.console.print(f"  {label}: {text}", markup=False)
    rows = []
    for entry in document["checks"]:
        check = Check(entry["name"], entry["ok"], entry.get("reason") or "ok", entry.get("detail") or "")
        mark = "✓" if check.ok else ("–" if check.ok is None else "✗")
        style = "green" if check.ok else ("dim" if check.ok is None else "red")
        rows.append([check.label(lang), Text(mark, style=style), _explanation(check, document["facts"], lang)])
    headers = [runtime.t(f"label.{name}") for name in ("check", "result", "explanation")]
    runtime.console.print(fit_table(runtime.console, headers, rows))


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
