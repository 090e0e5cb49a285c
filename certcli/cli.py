"""The certcli command line: a thin layer over the library (SPEC §4)."""
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer


from certcli import i18n
from certcli.commands._runtime import Runtime, default_home, report_error, set_runtime
from certcli.errors import ExitStatus

app = typer.Typer(
    name="certcli",
    help="Electronic professional-qualification certificates (专业技术人员职业资格电子证书): "
         "issue, annotate (加注), download signed PDFs, verify.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)

GLOBAL_FLAGS = ("--json", "--traceback")
GLOBAL_OPTIONS = ("--home", "--lang")


@app.callback()
def root(
    home: Annotated[Optional[Path], typer.Option("--home", help="Home folder: store, keys, session. "
                                                 "Default: $CERTCLI_HOME or the platform data folder.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")] = False,
    lang: Annotated[Optional[str], typer.Option("--lang", help="zh or en (default from the locale).")] = None,
    show_traceback: Annotated[bool, typer.Option("--traceback", help="On an internal error (exit 70) print the "
                                                 "traceback on stderr (also CERTCLI_DEBUG=1).")] = False,
) -> None:
    set_runtime(Runtime(home=home or default_home(), json=json_output, lang=lang or i18n.default_lang(),
                        traceback=show_traceback))
    if lang is not None and lang not in i18n.LANGS:
        report_error("usage_error", f"--lang must be zh or en, not {lang!r}", ExitStatus.USAGE)


def _register_commands() -> None:
    from certcli.commands import account, admin, certificates, demo, member, paper, scope, verify

    for module in (account, certificates, verify, demo, member, paper, scope):
        module.register(app)
    admin.register_groups()
    app.add_typer(admin.app, name="admin")


_register_commands()


def hoist_global_options(argv: list[str]) -> list[str]:
    """Let --json, --home and --lang stand anywhere, as scripts write them."""
    front, rest, i = [], [], 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest.extend(argv[i:])
            break
        if arg in GLOBAL_FLAGS:
            front.append(arg)
        elif arg in GLOBAL_OPTIONS and i + 1 < len(argv):
            front.extend(argv[i:i + 2])
            i += 1
        elif any(arg.startswith(opt + "=") for opt in GLOBAL_OPTIONS):
            front.append(arg)
        else:
            rest.append(arg)
        i += 1
    return front + rest


def main(argv: Optional[list[str]] = None) -> None:
    args = hoist_global_options(list(sys.argv[1:] if argv is None else argv))
    if "--json" not in args:
        app(args=args, prog_name="certcli")
        return
    # JSON mode: usage errors become a JSON document too.
    usage_error = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
    try:
        code = app(args=args, prog_name="certcli", standalone_mode=False)
    except usage_error as error:
        import json

        sys.stdout.write(json.dumps({"error": {"code": "usage_error", "message": error.format_message()}},
                                    ensure_ascii=False) + "\n")
        sys.exit(error.exit_code)
    except typer.Abort:
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
