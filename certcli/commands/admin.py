"""The administrator group: init, issue, revoke, process, stats, pending, export, trust, terms."""
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from certcli.commands._admin import (ISSUER_ROOT_KEY, check_shared_store, keys_of, progress_bar, root_key_id,
                                     seal_json, unlock)
from certcli.commands._choices import ExportFormat
from certcli.commands._runtime import PASSPHRASE_STDIN, handled, read_secret, rt
from certcli.errors import ExitStatus
from certcli.home import keys_dir, open_user_file, write_public

app = typer.Typer(help="Administrator commands (发证机构): keys, rosters, revocation, processing, reports.",
                  no_args_is_help=True)


def register_groups() -> None:
    """Sub-groups that live in their own modules."""
    from certcli.commands import account_admin, audit, member, migrate, paper, seals, verifier

    account_admin.register_admin(app)  # admin account show, reset
    audit.register(app)
    migrate.register(app)  # admin migrate --to URL
    seals.register(app)  # rotate-seal, retire-seal
    member.register_admin(app)
    paper.register_admin(app)  # admin paper, admin region
    verifier.register(app)  # admin config, admin publish-verifier


def _command(name: str):
    def decorate(fn):
        app.command(name)(handled(fn))
        return fn

    return decorate


@_command("init")
def init(passphrase_stdin: Annotated[bool, PASSPHRASE_STDIN] = False,
         join: Annotated[bool, typer.Option("--join", help="With --database-url: use a database that already "
                                            "holds a certcli store from this home (creates no keys; copy the "
                                            "keys folder of the home that made them).")] = False) -> None:
    """Create the home: the store, the issuer root CA and the ministry seal key."""
    from certcli import accounts
    from certcli.home import ensure_private_dir

    runtime = rt()
    if join and not runtime.database_url:
        from certcli.errors import UsageError

        raise UsageError(detail=runtime.t("join_needs_database"))
    ensure_private_dir(runtime.home)
    keys = keys_of(runtime)
    created_keys = False
    passphrase = None
    if not keys.exists() and not join:
        passphrase = read_secret("passphrase", from_stdin=passphrase_stdin, confirm=True).encode()
    if runtime.database_url:   # a shared database: refused before anything is made in the home
        check_shared_store(runtime.store(create=True), keys, join)
    if passphrase is not None:
        keys.init(passphrase, runtime.now)
        created_keys = True
    store = runtime.store(create=True)
    if runtime.database_url and keys.exists() and store.get_meta(ISSUER_ROOT_KEY) is None:
        store.set_meta(ISSUER_ROOT_KEY, root_key_id(keys))   # whose keys sign for this database
    accounts.current_terms(store, runtime.now)
    seals = [seal_json(s) for s in keys.seals()] if keys.exists() else []
    document = {"home": str(runtime.home), "created_keys": created_keys, "seals": seals}
    if runtime.database_url:
        document.update(database=store.path, created_store=store.created, keys=keys.exists())
        message = runtime.t("initialised_database" if store.created else "joined_database", home=runtime.home,
                            url=store.path)
        if not keys.exists():
            message += "\n" + runtime.t("joined_without_keys", keys=keys_dir(runtime.home))
    else:
        message = runtime.t("initialised", home=runtime.home)
    runtime.emit(document, message)


@_command("issue")
def issue(
    roster: Annotated[Path, typer.Argument(help="Roster: CSV (UTF-8, UTF-8 BOM, GB18030; comma- or "
                                           "tab-separated), an Excel workbook (.xlsx) or JSON Lines.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check every row, store nothing.")] = False,
    sheet: Annotated[Optional[str], typer.Option("--sheet", help="The worksheet of an Excel workbook, by name "
                                                 "or number (default: the first).")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="A column that is not a roster column (e.g. a "
                                         "misspelt one) is an error, before anything is stored, instead of "
                                         "a warning.")] = False,
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
            sheet=sheet, strict=strict,
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
    _print_import(report, rejects)
    if report.rejected:
        raise typer.Exit(ExitStatus.BAD_INPUT)


def _print_import(report, rejects: Optional[Path] = None) -> None:
    runtime = rt()
    document = {
        "path": report.path, "format": report.format, "encoding": report.encoding, "dry_run": report.dry_run,
        "rows": report.rows, "inserted": report.inserted, "already_present": report.already_present,
        "rejected": report.rejected, "sheet": report.sheet,
        "warnings": [w.as_json() for w in report.warnings],
        "rejects": [{"line": e.line, "certificate_no": e.certificate_no, "reason": e.reason, "field": e.field,
                     "detail": e.detail} for e in report.rejects],
    }

    def human():
        for w in report.warnings:  # before the count: a dropped column is easy to miss under it
            runtime.console.print(runtime.t(f"warning.{w.kind}", column=w.column, suggestion=w.suggestion),
                                  style="bold yellow", markup=False)
        runtime.console.print(runtime.t("import_summary_dry_run" if report.dry_run else "import_summary",
                                        rows=report.rows, inserted=report.inserted,
                                        already_present=report.already_present, rejected=report.rejected),
                              markup=False)
        from certcli.commands._rows import reject_text

        for e in report.rejects[:50]:     # in words; --json and --rejects keep the codes
            runtime.console.print(reject_text(e, runtime.lang), markup=False)
        if report.rejected > 50:
            runtime.console.print(runtime.t("import_more_rejects", count=report.rejected - 50), markup=False)
        if rejects is not None:   # what --rejects wrote, and where
            runtime.console.print(runtime.t("rejects_written", count=report.rejected, path=rejects), markup=False)

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
    claim_seconds: Annotated[int, typer.Option(
        "--claim-seconds", min=1, max=86400,
        help="Lease of the requests a run claims, renewed while it works. Several runs at once (here or on "
             "other machines sharing the database) each sign different requests; a killed run's requests "
             "go to another run when its lease ends (at once on the same machine).")] = 300,
    passphrase_stdin: Annotated[bool, PASSPHRASE_STDIN] = False,
) -> None:
    """Complete pending requests (annotation documents, member certificates): render and sign each PDF.
    Runs until none is left, also waiting for requests that other runs hold."""
    from certcli.certificates.processing import process_pending

    runtime = rt()
    store = runtime.store()
    passphrase = unlock(runtime, passphrase_stdin)
    bar, progress = progress_bar("process")
    try:
        if bar:
            bar.start()
        report = process_pending(store, keys_dir(runtime.home), passphrase, now=runtime.now,
                                 workers=workers, limit=limit, progress=progress, claim_seconds=claim_seconds)
    finally:
        if bar:
            bar.stop()
    from certcli.i18n import format_instant

    def human():
        for rotated in report.rotated_before_signing:   # before the count: the bundle must be exported again
            runtime.console.print(runtime.t("process_rotated_notice", seal_id=rotated["seal_id"],
                                            not_after=format_instant(rotated["not_after"], runtime.lang),
                                            new_key_id=rotated["new_key_id"], old_key_id=rotated["old_key_id"],
                                            new_not_after=format_instant(rotated["new_not_after"], runtime.lang)),
                                  markup=False)
        runtime.console.print(runtime.t("processed", completed=report.completed, failed=report.failed),
                              markup=False)

    runtime.emit({"pending": report.pending, "completed": report.completed, "failed": report.failed,
                  "workers": report.workers, "failures": report.failures,
                  "rotated_before_signing": report.rotated_before_signing}, human)


@_command("stats")
def stats() -> None:
    """Certificates by status and qualification; pending and overdue annotation requests; warnings
    for seal and root certificates that end within 180 days (or have ended)."""
    from certcli.certificates import reports

    runtime = rt()
    result = reports.stats(runtime.store(), runtime.now)
    # root and seal certificates ending within 180 days (or ended): rotate, or plan a new root
    result["warnings"] = reports.key_warnings(keys_of(runtime), runtime.now)

    def human():
        from certcli.commands._tables import fit_table
        from certcli.i18n import format_instant

        for warning in result["warnings"]:
            key = warning["kind"].replace("_expiring", "_expired" if warning["expired"] else "_expiring")
            runtime.console.print(runtime.t(f"stats_warning.{key}", seal_id=warning["seal_id"],
                                            key_id=warning["key_id"],
                                            not_after=format_instant(warning["not_after"], runtime.lang),
                                            days_left=warning["days_left"]), style="bold yellow", markup=False)
        runtime.console.print(runtime.t("stats_certificates", accounts=result["accounts"], **result["certificates"]),
                              markup=False)
        runtime.console.print(runtime.t("stats_annotations", pending=result["pending"], overdue=result["overdue"]),
                              markup=False)
        members = result["member_documents"]
        runtime.console.print(runtime.t("stats_member_documents", pending=members["pending"],
                                        overdue=members["overdue"]), markup=False)
        headers = [runtime.t(f"label.{name}") for name in ("qualification", "status", "count")]
        rows = [[row["qualification"], runtime.t(f"status_{row['status']}"), str(row["n"])]
                for row in result["by_qualification"]]
        runtime.console.print(fit_table(runtime.console, headers, rows, no_wrap=(2,)))

    runtime.emit(result, human)


@_command("pending")
def pending(overdue_only: Annotated[bool, typer.Option("--overdue", help="Only requests older than 24 h.")] = False,
            ) -> None:
    """Pending requests (annotations, then member certificates), oldest first; overdue after 24 h."""
    from certcli.certificates import reports

    runtime = rt()
    found = reports.pending_requests(runtime.store(), runtime.now, overdue_only=overdue_only)
    rows, member_rows = found["pending"], found["member_documents"]

    def human():
        from rich.text import Text

        from certcli.commands._tables import fit_table
        from certcli.i18n import as_instant, format_instant

        lang = runtime.lang
        table = []
        for number, kind, row, at in ([(r["annotation_no"], r.get("kind") or "annotation", r, r["applied_at"])
                                       for r in rows]
                                      + [(r["document_no"], "member_document", r, r["requested_at"])
                                         for r in member_rows]):
            hours = int((runtime.now - as_instant(at)).total_seconds() // 3600)
            waited = Text(runtime.t("hours_value", hours=hours) if hours >= 1 else runtime.t("hours_less_than_one"))
            if row["overdue"]:     # R4: past the 24 hours promised
                waited.append("\n" + runtime.t("label.overdue"), style="bold red")
            table.append([number or "", runtime.t(f"request_kind.{kind}"), row["certificate_no"],
                          format_instant(at, lang, zone=False), waited])
        if not table:
            runtime.console.print(runtime.t("pending_none"), markup=False)
            return
        headers = [runtime.t(f"label.{name}") for name in ("request_no", "request_kind", "certificate_no",
                                                           "requested_at", "waiting")]
        runtime.console.print(fit_table(runtime.console, headers, table, no_wrap=(0, 2, 4),
                                        caption=runtime.t("dates_note")))
        runtime.console.print(runtime.t("pending_summary", count=len(table),
                                        overdue=sum(1 for r in rows + member_rows if r["overdue"])), markup=False)

    runtime.emit(found, human)


@_command("export")
def export(
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="File to write (default: stdout).")] = None,
    fmt: Annotated[ExportFormat, typer.Option("--format", help="csv or jsonl.", case_sensitive=False)] = "csv",
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
        ids = runtime.t("export_ids_full" if full_id else "export_ids_masked")
        runtime.emit({"path": str(output), "rows": count, "format": fmt},
                     runtime.t("exported", count=count, path=output, format=fmt.upper(), ids=ids))


@_command("trust")
def trust(
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="File to write (default: stdout); the "
                                                   "ledgers of closed keys go beside it, in STEM.ledgers/.")] = None,
    valid_days: Annotated[int, typer.Option("--valid-days", help="Days until next_update: verifiers warn "
                                            "after it (1-366).")] = 7,
    ledgers: Annotated[Optional[Path], typer.Option("--ledgers", help="Folder for the ledgers (default: beside "
                                                    "-o, STEM.ledgers/).")] = None,
    passphrase_stdin: Annotated[bool, PASSPHRASE_STDIN] = False,
) -> None:
    """Sign and print the public trust bundle (root, seal keys and their history, revocation list)."""
    from certcli.certificates import trust as trust_service
    from certcli.home import trust_file, user_file, write_private
    from certcli.pki.ledgers import ledger_dir_beside
    from certcli.i18n import format_instant

    runtime = rt()
    passphrase = unlock(runtime, passphrase_stdin)
    keys = keys_of(runtime)
    store = runtime.store() if runtime.has_store() else None
    published = trust_service.publish(keys, store, passphrase, runtime.now, valid_days)
    # the home keeps the latest bundle and its ledgers: `certcli serve` publishes them without the passphrase
    trust_service.write(published, trust_file(runtime.home), write_private)
    folder = None
    if output is not None or ledgers is not None:
        folder = ledgers if ledgers is not None else ledger_dir_beside(output)
        with user_file(folder):
            if published.ledgers:
                folder.mkdir(parents=True, exist_ok=True)
            for name, data in published.ledger_files().items():
                write_public(folder / name, data)
    if output is not None:
        write_public(output, published.text.encode("utf-8"))
    ledger_rows = [{"key_id": ledger.key_id, "count": ledger.count, "sha256": ledger.sha256,
                    "file": str(folder / f"{ledger.key_id}.bin") if folder is not None else None}
                   for ledger in published.ledgers]
    if runtime.json:
        runtime.emit({"bundle": published.text, "issued_at": published.issued_at,
                      "next_update": published.next_update, "revoked": published.revoked,
                      "ledgers": ledger_rows, "seals": [seal_json(s) for s in keys.seals()]})
        return
    if output is None:
        sys.stdout.write(published.text)
    summary = runtime.t("trust_published_notice", issued_at=format_instant(published.issued_at, runtime.lang),
                        next_update=format_instant(published.next_update, runtime.lang), revoked=published.revoked,
                        ledgers=len(published.ledgers), folder=str(folder) if folder and published.ledgers else "")
    if output is None:
        sys.stderr.write(summary + "\n")
    else:
        runtime.console.print(str(output), markup=False)
        runtime.console.print(summary, markup=False)


@_command("terms")
def terms(
    text_zh: Annotated[Path, typer.Option("--zh", help="New terms text in Chinese (UTF-8 file).")],
    text_en: Annotated[Path, typer.Option("--en", help="New terms text in English (UTF-8 file).")],
    passphrase_stdin: Annotated[bool, PASSPHRASE_STDIN] = False,
) -> None:
    """Publish a new version of the service terms; every holder must accept it again."""
    from certcli import accounts

    runtime = rt()
    store = runtime.store()
    unlock(runtime, passphrase_stdin)
    version = accounts.publish_terms(store, text_zh=text_zh.read_text(encoding="utf-8"),
                                     text_en=text_en.read_text(encoding="utf-8"), now=runtime.now)
    runtime.emit({"terms_version": version}, runtime.t("terms_published", version=version))
