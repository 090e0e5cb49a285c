"""The certcli command line: a thin layer over the library (SPEC §4)."""
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer


from certcli import i18n
from certcli.commands._runtime import Runtime, default_home, flush_stdout, report_error, set_runtime, write_stdout
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
GLOBAL_OPTIONS = ("--home", "--lang", "--server", "--ca-bundle", "--database-url")


def _print_version(value: bool) -> None:
    if value:
        from certcli import __version__

        write_stdout(f"certcli {__version__}\n")
        raise typer.Exit(ExitStatus.OK)


@app.callback()
def root(
    home: Annotated[Optional[Path], typer.Option("--home", help="Home folder: store, keys, session. "
                                                 "Default: $CERTCLI_HOME or the platform data folder.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")] = False,
    lang: Annotated[Optional[str], typer.Option("--lang", help="zh or en (default from the locale).")] = None,
    show_traceback: Annotated[bool, typer.Option("--traceback", help="On an internal error (exit 70) print the "
                                                 "traceback on stderr (also CERTCLI_DEBUG=1).")] = False,
    server: Annotated[Optional[str], typer.Option("--server", help="Remote mode: run the holder, member, paper "
                                                  "and verify commands against this `certcli serve` URL. "
                                                  "Default: $CERTCLI_SERVER.")] = None,
    ca_bundle: Annotated[Optional[Path], typer.Option("--ca-bundle", help="PEM file of the private CA that signed "
                                                      "the server's TLS certificate. Default: $CERTCLI_CA_BUNDLE.")]
    = None,
    database_url: Annotated[Optional[str], typer.Option("--database-url", help="Use this PostgreSQL database "
                                                        "(postgresql://USER@HOST/DB) instead of the home's SQLite "
                                                        "file; keys and sessions stay in the home. "
                                                        "Default: $CERTCLI_DATABASE_URL.")] = None,
    _version: Annotated[bool, typer.Option("--version", help="Print the version and exit.", is_eager=True,
                                           callback=_print_version)] = False,
) -> None:
    import os

    from certcli.home import database_url as resolve_database_url, use_database_url

    use_database_url(None)           # nothing left over from an earlier run in this process
    database_url = resolve_database_url(database_url)
    use_database_url(database_url)   # library code that opens the store itself (serve, verify) uses it too
    set_runtime(Runtime(home=home or default_home(), json=json_output, lang=lang or i18n.default_lang(),
                        traceback=show_traceback, database_url=database_url))
    if lang is not None and lang not in i18n.LANGS:
        report_error("usage_error", f"--lang must be zh or en, not {lang!r}", ExitStatus.USAGE)
    server = server if server is not None else os.environ.get("CERTCLI_SERVER")
    if server:
        from certcli.commands._runtime import rt, server_url

        rt().server = server_url(server)
        bundle = ca_bundle or os.environ.get("CERTCLI_CA_BUNDLE")
        rt().ca_bundle = Path(bundle) if bundle else None


def _register_commands() -> None:
    from certcli.commands import account, admin, certificates, demo, member, paper, scope, serve, verify

    for module in (account, certificates, verify, demo, member, paper, scope, serve):
        module.register(app)
    admin.register_groups()
    app.add_typer(admin.app, name="admin")
    from certcli.commands._help import decorate

    decorate(app)   # Chinese terms, one-line summaries, examples (issue 14)


_register_commands()


def hoist_global_options(argv: list[str]) -> list[str]:
    """Let --json, --home, --lang, --server, --ca-bundle and --database-url stand anywhere, as scripts write them."""
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
    """The ``certcli`` program.  Standard output is flushed here, before the interpreter
    exits, so a reader that stopped early (``certcli verify X | head -1``) never changes
    the exit status (see ``_runtime.stdout_gone``)."""
    try:
        _main(argv)
    finally:
        flush_stdout()


def _main(argv: Optional[list[str]] = None) -> None:
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

        write_stdout(json.dumps({"error": {"code": "usage_error", "message": error.format_message()}},
                                ensure_ascii=False) + "\n")
        sys.exit(error.exit_code)
    except typer.Abort:
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
