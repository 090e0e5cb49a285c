"""The administrator group: init, issue, revoke, process, stats, pending, export, trust, terms."""
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from certcli.commands._admin import keys_of, progress_bar, seal_json, unlock
from certcli.commands._runtime import PASSPHRASE_STDIN, handled, read_secret, rt
from certcli.errors import ExitStatus
from certcli.home import keys_dir, open_user_file, write_public

app = typer.Typer(help="Administrator commands (发证机构): keys, rosters, revocation, processing, reports.",
                  no_args_is_help=True)


def register_groups() -> None:
    """Sub-groups that live in their own modules."""
    from certcli.commands import audit, member, paper, seals

    audit.register(app)
    seals.register(app)  # rotate-seal, retire-seal
    member.register_admin(app)
    paper.register_admin(app)  # admin paper, admin region


def _command(name: str):
    def decorate(fn):
        app.command(name)(handled(fn))
        return fn

    return decorate


@_command("init")
def init(passphrase_stdin: Annotated[bool, PASSPHRASE_STDIN] = False) -> None:
    """Create the home: the store, the issuer root CA and the ministry seal key."""
    from certcli import accounts
    from certcli.home import ensure_private_dir

    runtime = rt()
    ensure_private_dir(runtime.home)
    keys = keys_of(runtime)
    created_keys = False
    if not keys.exists():
        passphrase = read_secret("passphrase", from_stdin=passphrase_stdin, confirm=True).encode()
        keys.init(passphrase, runtime.now)
        created_keys = True
    store = runtime.store(create=True)
    accounts.current_terms(store, runtime.now)
    seals = [seal_json(s) for s in keys.seals()]
    runtime.emit({"home": str(runtime.home), "created_keys": created_keys, "seals": seals},
                 runtime.t("initialised", home=runtime.home))


@_command("issue")
def issue(
    roster: Annotated[Path, typer.Argument(help="Roster: CSV (UTF-8, UTF-8 BOM, GB18030) or JSON Lines.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check every row, store nothing.")] = False,
    rejects: Annotated[Optional[Path], typer.Option("--rejects", help="Write every rejected row (line, reason) "
                                                    "to this CSV file.")] = None,
    passphrase_stdin: Annotated[bool, PASSPHRASE_STDIN] = False,
) -> None:
    """Import a roster of certificates. Bad rows are reported with line and reason; good rows are kept;
    re-running the same roster adds nothing twice. Exit 6 if any row was rejected."""
    from certcli.certificates import issuance
    from certcli.documents.glyphs import check_text_renderable

    runtime = rt()
    store = runtime.store()
    passphrase = None if dry_run else unlock(runtime, passphrase_stdin)
    reject_writer, reject_file = None, None
    if rejects is not None:
        import csv

        reject_file = open_user_file(rejects, "w", newline="", encoding="utf-8-sig")
        reject_writer = csv.writer(reject_file)
        reject_writer.writerow(["line", "certificate_no", "reason", "field", "detail"])
    bar, progress = progress_bar("issue")
    try:
        if bar:
            bar.start()
        report = issuance.import_roster(
            store, roster, now=runtime.now, dry_run=dry_run, check_text=check_text_renderable, progress=progress,
            on_reject=(lambda e: reject_writer.writerow([e.line, e.certificate_no, e.reason, e.field, e.detail]))
            if reject_writer else None)
    finally:
        if bar:
            bar.stop()
        if reject_file:
            reject_file.close()
    if passphrase is not None:
        from certcli.certificates.seals import ensure_roster_seals

        ensure_roster_seals(keys_of(runtime), report.seals, passphrase, runtime.now)
    _print_import(report)
    if report.rejected:
        raise typer.Exit(ExitStatus.BAD_INPUT)


def _print_import(report) -> None:
    from certcli import i18n

    runtime = rt()
    document = {
        "path": report.path, "format": report.format, "encoding": report.encoding, "dry_run": report.dry_run,
        "rows": report.rows, "inserted": report.inserted, "already_present": report.already_present,
        "rejected": report.rejected,
        "rejects": [{"line": e.line, "certificate_no": e.certificate_no, "reason": e.reason, "field": e.field,
                     "detail": e.detail} for e in report.rejects],
    }

    def human():
        runtime.console.print(runtime.t("import_summary_dry_run" if report.dry_run else "import_summary",
                                        rows=report.rows, inserted=report.inserted,
                                        already_present=report.already_present, rejected=report.rejected),
                              markup=False)
        for e in report.rejects[:50]:
            where = f" [{e.field}]" if e.field else ""
            reason = i18n.words(f"row.{e.reason}", runtime.lang, e.reason)
            runtime.console.print(runtime.t("import_reject_line", line=e.line, reason=reason, code=e.reason,
                                            where=where, detail=e.detail).rstrip(), markup=False)
        if report.rejected > 50:
            runtime.console.print(runtime.t("import_more_rejects", count=report.rejected - 50), markup=False)

    runtime.emit(document, human)


@_command("revoke")
def revoke(
    certificate_no: Annotated[str, typer.Argument(help="Certificate number.")],
    reason: Annotated[Optional[str], typer.Option("--reason", help="Why (kept in the record).")] = None,
    passphrase_stdin: Annotated[bool, PASSPHRASE_STDIN] = False,
) -> None:
    """Revoke a certificate: nothing can be annotated, downloaded or verified as valid afterwards."""
    from certcli.certificates import issuance

    runtime = rt()
    store = runtime.store()
    unlock(runtime, passphrase_stdin)
    result = issuance.revoke(store, certificate_no, reason=reason, now=runtime.now)
    runtime.emit(result, runtime.t("revoked", certificate_no=certificate_no))


@_command("process")
def process(
    workers: Annotated[Optional[int], typer.Option("--workers", help="Processes (default: one per core).")] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", help="Process at most this many requests.")] = None,
    passphrase_stdin: Annotated[bool, PASSPHRASE_STDIN] = False,
) -> None:
    """Complete pending annotation requests: render and sign each certificate PDF (R4)."""
    from certcli.certificates.processing import process_pending

    runtime = rt()
    store = runtime.store()
    passphrase = unlock(runtime, passphrase_stdin)
    bar, progress = progress_bar("process")
    try:
        if bar:
            bar.start()
        report = process_pending(store, keys_dir(runtime.home), passphrase, now=runtime.now,
                                 workers=workers, limit=limit, progress=progress)
    finally:
        if bar:
            bar.stop()
    runtime.emit({"pending": report.pending, "completed": report.completed, "failed": report.failed,
                  "workers": report.workers, "failures": report.failures},
                 runtime.t("processed", completed=report.completed, failed=report.failed))


@_command("stats")
def stats() -> None:
    """Certificates by status and qualification; pending and overdue annotation requests."""
    from certcli.certificates import reports

    runtime = rt()
    result = reports.stats(runtime.store(), runtime.now)

    def human():
        from rich.table import Table

        runtime.console.print(runtime.t("stats_certificates", accounts=result["accounts"], **result["certificates"]),
                              markup=False)
        runtime.console.print(runtime.t("stats_annotations", pending=result["pending"], overdue=result["overdue"]),
                              markup=False)
        members = result["member_documents"]
        runtime.console.print(runtime.t("stats_member_documents", pending=members["pending"],
                                        overdue=members["overdue"]), markup=False)
        table = Table(*(runtime.t(f"label.{name}") for name in ("qualification", "status", "count")))
        for row in result["by_qualification"]:
            table.add_row(row["qualification"], runtime.t(f"status_{row['status']}"), str(row["n"]))
        runtime.console.print(table)

    runtime.emit(result, human)


@_command("pending")
def pending(overdue_only: Annotated[bool, typer.Option("--overdue", help="Only requests older than 24 h.")] = False,
            ) -> None:
    """Pending requests (annotations, then member certificates), oldest first; overdue after 24 h (R4)."""
    from certcli.certificates import reports

    runtime = rt()
    found = reports.pending_requests(runtime.store(), runtime.now, overdue_only=overdue_only)
    rows, member_rows = found["pending"], found["member_documents"]

    def human():
        for number, row, at in ([(r["annotation_no"], r, r["applied_at"]) for r in rows]
                                + [(r["document_no"], r, r["requested_at"]) for r in member_rows]):
            flag = runtime.t("label.overdue") if row["overdue"] else ""
            runtime.console.print(f"{number}  {row['certificate_no']}  {at}  {flag}", markup=False)
        if not rows and not member_rows:
            runtime.console.print("—")

    runtime.emit(found, human)


@_command("export")
def export(
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="File to write (default: stdout).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or jsonl.")] = "csv",
    full_id: Annotated[bool, typer.Option("--full-id", help="Include full ID numbers (masked by default).")] = False,
) -> None:
    """Export certificates. CSV cells that a spreadsheet would run as formulas are neutralised."""
    from certcli.certificates.export import export_certificates

    runtime = rt()
    if fmt not in ("csv", "jsonl"):
        from certcli.errors import BadInput

        raise BadInput(field="--format", value=fmt, reason="unknown_choice", known=["csv", "jsonl"])
    count = export_certificates(runtime.store(), output, fmt=fmt, full_id=full_id)
    if output is not None:
        runtime.emit({"path": str(output), "rows": count, "format": fmt}, f"{count} rows → {output}")


@_command("trust")
def trust(
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="File to write (default: stdout).")] = None,
) -> None:
    """Print the public trust bundle (root and seal certificates, PEM) for offline verification."""
    runtime = rt()
    from certcli.pki.trust_bundle import issuer_bundle_pem

    keys = keys_of(runtime)
    bundle = issuer_bundle_pem(keys)
    if output is not None:
        write_public(output, bundle.encode("utf-8"))
    if runtime.json:
        runtime.emit({"bundle": bundle, "seals": [seal_json(s) for s in keys.seals()]})
    elif output is None:
        sys.stdout.write(bundle)
    else:
        runtime.console.print(str(output))


@_command("terms")
def terms(
    text_zh: Annotated[Path, typer.Option("--zh", help="New terms text in Chinese (UTF-8 file).")],
    text_en: Annotated[Path, typer.Option("--en", help="New terms text in English (UTF-8 file).")],
    passphrase_stdin: Annotated[bool, PASSPHRASE_STDIN] = False,
) -> None:
    """Publish a new version of the service terms; every holder must accept it again (R11)."""
    from certcli import accounts

    runtime = rt()
    store = runtime.store()
    unlock(runtime, passphrase_stdin)
    version = accounts.publish_terms(store, text_zh=text_zh.read_text(encoding="utf-8"),
                                     text_en=text_en.read_text(encoding="utf-8"), now=runtime.now)
    runtime.emit({"terms_version": version}, f"terms version {version}")
