"""admin migrate --to URL: copy the home's SQLite store into PostgreSQL and check the copy
(certcli.pgmigrate)."""
from typing import Annotated

import typer

from certcli.commands._admin import progress_bar
from certcli.commands._runtime import handled, rt


def register(admin_app: typer.Typer) -> None:
    admin_app.command("migrate")(handled(migrate))


def migrate(
    to: Annotated[str, typer.Option("--to", metavar="URL", help="The PostgreSQL database to copy the store into "
                                    "(postgresql://USER@HOST/DB; empty, or holding an earlier copy of this "
                                    "store).")],
) -> None:
    """Copy this home's SQLite store (every table, ids and the audit chain as they are) into PostgreSQL, then
    check the copy: rows per table, and the audit chain verified on the copy. Interrupted, run it again: it
    goes on from the tables already copied. Then use the copy with --database-url URL."""
    from certcli import pgmigrate

    runtime = rt()
    bar, progress = progress_bar("migrate")
    try:
        if bar:
            bar.start()
        report = pgmigrate.migrate(runtime.home, to, progress=(lambda table, i, n: progress(i, n)) if progress
                                   else None)
    finally:
        if bar:
            bar.stop()

    def human():
        runtime.console.print(runtime.t("migrated", source=report.source, target=report.target), markup=False)
        width = max(len(t.table) for t in report.tables)
        for table in report.tables:
            runtime.console.print(f"  {table.table:<{width}}  {table.source:>9,}  {table.target:>9,}  "
                                  f"{'ok' if table.ok else 'MISMATCH'}", markup=False, highlight=False)
        runtime.console.print(runtime.t("migrated_audit", entries=report.audit_entries,
                                        head=report.audit_head[:24]), markup=False)

    runtime.emit(report.as_json(), human)
