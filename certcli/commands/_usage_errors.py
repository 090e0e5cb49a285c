"""click's own errors (a missing argument, an unknown option or command, a bad value) in the
user's language.

The root command (certcli.cli.RootGroup) sends every error click raises while it parses the
command line here.  English: printed as click prints it.  Chinese: the same parts (usage line,
help hint, error) in the catalog's words ("usage.*"), built from the exception's fields.
--json: one document, code "usage_error".  The exit status is the error's own (2 for usage
errors).  Imported only when such an error happens.
"""
import ast
import json
import re
from typing import NoReturn

import typer

from certcli import i18n
from certcli.commands._runtime import click_module, write_stdout


def report_usage_error(error: Exception, *, json_mode: bool, lang: str) -> NoReturn:
    click = click_module()
    help_page = isinstance(error, click.exceptions.NoArgsIsHelpError)   # no arguments: the help itself
    zh = lang == "zh" and not help_page
    message = usage_message(error, "zh") if zh else error.format_message()
    if json_mode:
        from certcli.errors import error_document

        write_stdout(json.dumps(error_document("usage_error", message), ensure_ascii=False) + "\n")
    elif not zh:
        error.show()
    else:
        ctx = getattr(error, "ctx", None)
        if ctx is not None:
            usage = " ".join(ctx.command.collect_usage_pieces(ctx))
            formatter = ctx.make_formatter()
            formatter.write_usage(ctx.command_path, usage, prefix=i18n.t("usage.usage", lang))
            hint = ""
            if ctx.command.get_help_option(ctx) is not None:
                hint = i18n.t("usage.try_help", lang, command=ctx.command_path,
                              option=ctx.help_option_names[0]) + "\n"
            typer.echo(f"{formatter.getvalue().rstrip()}\n{hint}", err=True)
        typer.echo(i18n.t("usage.error", lang, message=message), err=True)
    raise typer.Exit(error.exit_code)


def usage_message(error: Exception, lang: str) -> str:
    """A click error in ``lang``'s words, from its fields (click's own text if none fits)."""
    exceptions = click_module().exceptions

    def t(key: str, **data) -> str:
        return i18n.t(f"usage.{key}", lang, **data)

    if isinstance(error, exceptions.MissingParameter):
        kind = error.param_type or (error.param.param_type_name if error.param is not None else "parameter")
        return t(f"missing_{kind}" if kind in ("argument", "option") else "missing_parameter",
                 param=_param_hint(error), choices=_choices(error.param))
    if isinstance(error, exceptions.BadParameter):
        return t("invalid_value", param=_param_hint(error), reason=_expected(error, lang))
    if isinstance(error, exceptions.NoSuchOption):
        return t("no_such_option", option=error.option_name, possibilities=", ".join(sorted(error.possibilities or ())))
    if isinstance(error, exceptions.BadOptionUsage):    # no ctx, no kind: the two texts click makes of the name
        option = repr(error.option_name)
        if error.message == f"Option {option} does not take a value.":
            return t("option_takes_no_value", option=option)
        if error.message.startswith(f"Option {option} requires "):
            return t("option_needs_value", option=option)
    elif type(error) is exceptions.UsageError:         # ctx.fail(): click keeps only the text
        return _failed_in_words(error, t)
    return error.format_message()


# What click and typer pass to ctx.fail() (no fields to read): template -> catalog key
_FAILURES = (
    (re.compile(r"No such command (?P<name>.+?)\.(?: Did you mean .*\?)?", re.S), "no_such_command"),
    (re.compile(r"Got unexpected extra argument\(s\) \((?P<args>.*)\)", re.S), "extra_arguments"),
    (re.compile(r"Missing command\."), "missing_command"),
)


def _failed_in_words(error, t) -> str:
    for pattern, key in _FAILURES:
        match = pattern.fullmatch(error.message)
        if match is None:
            continue
        data = match.groupdict()
        if key == "no_such_command":   # typer's suggestions, again in these words
            from difflib import get_close_matches

            try:
                typo = ast.literal_eval(data["name"])
            except (ValueError, SyntaxError):
                typo = None
            commands = list(getattr(getattr(error.ctx, "command", None), "commands", None) or ())
            suggestions = get_close_matches(typo, commands) if isinstance(typo, str) else []
            data["suggestions"] = ", ".join(repr(name) for name in suggestions)
        return t(key, **data)
    return error.format_message()


def _param_hint(error) -> str:
    """The parameter as click names it ('--days', 'certificate_no')."""
    hint = error.param_hint
    if hint is None and error.param is not None:
        hint = error.param.get_error_hint(error.ctx)
    if hint is not None and not isinstance(hint, str):
        hint = " / ".join(repr(x) for x in hint)
    return hint or ""


def _choices(param) -> str:
    choices = getattr(getattr(param, "type", None), "choices", None)
    return ", ".join(str(getattr(c, "value", c)) for c in choices) if choices else ""


def _expected(error, lang: str) -> str:
    """What a value of the parameter's type looks like; the error's own text for other types
    (certcli's callbacks raise theirs in the user's language)."""
    types = click_module().types
    kind = getattr(error.param, "type", None)
    number = "integer" if isinstance(kind, types.IntParamType) else \
        "float" if isinstance(kind, types.FloatParamType) else None
    if _choices(error.param):
        return i18n.t("usage.expect_choice", lang, choices=_choices(error.param))
    if number and (getattr(kind, "min", None) is not None or getattr(kind, "max", None) is not None):
        low = "" if kind.min is None else f"{kind.min}{'<' if kind.min_open else '<='}"
        high = "" if kind.max is None else f"{'<' if kind.max_open else '<='}{kind.max}"
        return i18n.t(f"usage.expect_{number}_range", lang, range=f"{low}x{high}")
    if number:
        return i18n.t(f"usage.expect_{number}", lang)
    if isinstance(kind, types.BoolParamType):
        return i18n.t("usage.expect_boolean", lang)
    if isinstance(kind, types.UUIDParameterType):
        return i18n.t("usage.expect_uuid", lang)
    if isinstance(kind, types.DateTime):
        return i18n.t("usage.expect_datetime", lang, formats=", ".join(kind.formats))
    return error.message
