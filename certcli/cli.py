"""The certcli command line: a thin layer over the library (SPEC §4)."""
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from typer.core import TyperGroup

from certcli import i18n
from certcli.commands._runtime import Runtime, default_home, flush_stdout, report_error, set_runtime, write_stdout
from certcli.errors import ExitStatus


class RootGroup(TyperGroup):
    """The ``certcli`` command.  Every error click raises while it reads the command line
    (the global options here, a command, its options and arguments) goes to the one place
    that prints it in the user's language, or as the --json error document."""

    def make_context(self, info_name, args, parent=None, **extra):
        argv = list(args)            # parsing consumes the list
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except _click_exception() as error:
            from certcli.commands._usage_errors import report_usage_error

            report_usage_error(error, json_mode=_before_dashes(argv, "--json"), lang=_lang_of(argv))

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except _click_exception() as error:
            from certcli.commands._usage_errors import report_usage_error

            lang = ctx.params.get("lang")
            report_usage_error(error, json_mode=bool(ctx.params.get("json_output")),
                               lang=lang if lang in i18n.LANGS else i18n.default_lang())


def _click_exception() -> type:
    from certcli.commands._runtime import click_module

    return click_module().exceptions.ClickException


def _before_dashes(argv: list[str], flag: str) -> bool:
    return flag in argv[:argv.index("--")] if "--" in argv else flag in argv


def _lang_of(argv: list[str]) -> str:
    """--lang as given (when the root options could not be read), else the locale's."""
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--lang" and i + 1 < len(argv) and argv[i + 1] in i18n.LANGS:
            return argv[i + 1]
        if arg.startswith("--lang=") and arg[len("--lang="):] in i18n.LANGS:
            return arg[len("--lang="):]
    return i18n.default_lang()


app = typer.Typer(
    cls=RootGroup,
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
    # JSON mode: nothing but the document on stdout (usage errors: RootGroup), no "Aborted!" on stderr
    try:
        code = app(args=args, prog_name="certcli", standalone_mode=False)
    except typer.Abort:
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
