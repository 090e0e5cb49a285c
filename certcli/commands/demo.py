"""demo: the whole flow in a throwaway home, narrated."""
from pathlib import Path
from typing import Annotated, Optional

import typer

from certcli.commands._runtime import handled, rt
from certcli.errors import ExitStatus


def register(app: typer.Typer) -> None:
    app.command("demo")(handled(demo))


def demo(
    keep: Annotated[Optional[Path], typer.Option("--keep", help="Run in this folder (new or empty) and keep "
                                                 "its files: the home, the signed PDFs, the trust bundle. "
                                                 "Default: a temporary folder, removed at the end.")]
    = None,
) -> None:
    """Run the whole flow: keys, roster, holder, annotation, signed PDF, verification."""
    from certcli.demo import run_demo

    runtime = rt()
    result = run_demo(keep, lang=runtime.lang, say=None if runtime.json else runtime.console.print)
    runtime.emit(result, lambda: _summary(result))
    if not result["verified"]:
        raise typer.Exit(ExitStatus.NOT_VALID)


def _summary(result: dict) -> None:
    """What the demo made, where its files are (if kept), how to keep them, how to carry on.
    Every path named here exists."""
    runtime = rt()
    t, say = runtime.t, runtime.console.print
    say("")
    if result["verified"]:
        say(t("demo.summary_made"), markup=False)
    files = result["files"]
    if result["folder"] is None:
        say(t("demo.summary_removed"), markup=False)
        say(t("demo.summary_how_to_keep"), markup=False)
        return
    say(t("demo.summary_kept" if result["kept"] else "demo.summary_left", folder=result["folder"]), markup=False)
    for name in ("home", "certificate_pdf", "member_pdf", "trust_bundle", "roster", "member_roster"):
        if name in files:
            say(f"  {files[name]}  {t('demo.file_' + name)}", markup=False)
    if "home" in files:
        holder = result["holder"]
        say(t("demo.summary_carry_on", home=files["home"], id_number=holder["id_number"],
              password=holder["password"]), markup=False)
        say(f"  export CERTCLI_HOME={_quoted(files['home'])}", markup=False)
        say(f"  certcli login --id-number {holder['id_number']}", markup=False)
        say("  certcli list", markup=False)
    if not result["kept"]:
        say(t("demo.summary_how_to_keep"), markup=False)


def _quoted(path: str) -> str:
    import shlex

    return shlex.quote(path)
