"""demo: the whole flow in a throwaway home, narrated."""
from pathlib import Path
from typing import Annotated, Optional

import typer

from certcli.commands._runtime import handled, rt
from certcli.errors import ExitStatus


def register(app: typer.Typer) -> None:
    app.command("demo")(handled(demo))


def demo(
    keep: Annotated[Optional[Path], typer.Option("--keep", help="Use this folder (kept) instead of a temporary one.")]
    = None,
) -> None:
    """Run the whole flow: keys, roster, holder, annotation, signed PDF, verification."""
    from certcli.demo import run_demo

    runtime = rt()
    result = run_demo(keep, lang=runtime.lang, say=None if runtime.json else runtime.console.print)
    runtime.emit(result)
    if not result["verified"]:
        raise typer.Exit(ExitStatus.NOT_VALID)
