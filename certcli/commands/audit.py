"""admin audit: verify the hash chain, export it for auditors, print its head."""
import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from certcli.commands._runtime import handled, rt
from certcli.errors import ExitStatus
from certcli.home import open_user_file

app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


def register(admin_app: typer.Typer) -> None:
    app.command("verify")(handled(verify))
    app.command("export")(handled(export))
    app.command("head")(handled(head))
    admin_app.add_typer(app, name="audit")


def verify() -> None:
    """Recompute the chain; name the first edited, deleted or reordered entry. Exit 1 if broken."""
    from certcli import audit

    runtime = rt()
    check = audit.verify(runtime.store())
    document = {"ok": check.ok, "entries": check.entries, "first_bad_id": check.first_bad_id,
                "problem": check.problem}
    if check.ok:
        message = runtime.t("audit_intact", entries=check.entries)
    else:
        message = runtime.t("audit_tampered", first_bad_id=check.first_bad_id, problem=check.problem)
    runtime.emit(document, message)
    if not check.ok:
        raise typer.Exit(ExitStatus.NOT_VALID)


def export(
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="File (default: stdout).")] = None,
) -> None:
    """Every entry as JSON Lines, with its hashes, for auditors."""
    from certcli import audit

    runtime = rt()
    handle = open_user_file(output, "w", encoding="utf-8") if output else sys.stdout
    count = 0
    try:
        for entry in audit.entries(runtime.store()):
            handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
            count += 1
    finally:
        if output:
            handle.close()
    if output:
        runtime.emit({"path": str(output), "entries": count}, runtime.t("audit_exported", count=count, path=output))


def head() -> None:
    """The newest entry's number and hash: keep a copy elsewhere as a witness."""
    from certcli import audit

    runtime = rt()
    value = runtime.store().get_meta(audit.HEAD_KEY) or f"0:{audit.GENESIS}"
    entry_id, digest = value.split(":")
    runtime.emit({"entries": int(entry_id), "hash": digest}, value)
