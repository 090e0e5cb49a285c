"""register, login, logout, agree (R10, R11)."""
from typing import Annotated, Optional

import typer

from certcli.commands._choices import IdType, LoginIdType
from certcli.commands._runtime import PASSWORD_STDIN, handled, read_secret, rt
from certcli.errors import ExitStatus
from certcli.services.factory import holder_service

ID_TYPE_HELP = ("ID document type (证件类型) under which the certificate was obtained: resident_id (居民身份证, "
                "the default), passport, hk_macao_permit, taiwan_permit, foreign_permanent, other.")


def register(app: typer.Typer) -> None:
    app.command("register")(handled(register_holder))
    app.command("login")(handled(login))
    app.command("logout")(handled(logout))
    app.command("agree")(handled(agree))


def register_holder(
    name: Annotated[str, typer.Option("--name", help="Name as on the certificate (姓名); spaces and the middle "
                                                     "dot · are kept, Latin letters in any case.")],
    id_number: Annotated[str, typer.Option("--id-number", help="Number of the ID document used for the exam.")],
    id_type: Annotated[IdType, typer.Option("--id-type", help=ID_TYPE_HELP, case_sensitive=False,
                                            metavar="<id_type>")] = "resident_id",
    password_stdin: Annotated[bool, PASSWORD_STDIN] = False,
) -> None:
    """Register as a holder with the ID document under which the certificate was obtained."""
    runtime = rt()
    service = holder_service(runtime)
    service.check_id_number(id_type, id_number)  # reject a bad number before asking for a password
    password = read_secret("password", from_stdin=password_stdin, confirm=True)
    result = service.register(name=name, id_number=id_number, id_type=id_type, password=password)
    message = runtime.t("registered", name=result["name"], id_number_masked=result["id_number_masked"])
    if result.get("replaced"):
        message = runtime.t("registration_replaced." + result["replaced"]) + "\n" + message
    runtime.emit(result, message)


def login(
    id_number: Annotated[Optional[str], typer.Option("--id-number", help="Your ID document number.")] = None,
    id_type: Annotated[Optional[LoginIdType], typer.Option("--id-type", help=ID_TYPE_HELP + " Members: member.",
                                                           case_sensitive=False, metavar="<id_type>")] = None,
    password_stdin: Annotated[bool, PASSWORD_STDIN] = False,
    cert_number: Annotated[Optional[str], typer.Option(
        "--cert-number", help="Members: your membership certificate number (the initial password is changed "
                              "at first login).")] = None,
) -> None:
    """Log in; the session lasts until 8 idle hours have passed."""
    from certcli.commands._runtime import report_error

    runtime = rt()
    if cert_number or id_type == "member":
        from certcli.commands.member import login_member

        return login_member(cert_number or id_number or "", password_stdin)
    if not id_number:
        report_error("usage_error", runtime.t("usage_error", detail="--id-number (members: --cert-number)"),
                     ExitStatus.USAGE)
    password = read_secret("password", from_stdin=password_stdin)
    result = holder_service(runtime).login(id_number=id_number, password=password, id_type=id_type)
    message = runtime.t("logged_in", name=result["name"])
    if not result["terms_accepted"]:
        message += "\n" + runtime.t("terms_not_accepted", current_version=result["terms_version"])
    runtime.emit(result, message)


def logout() -> None:
    """End the session."""
    runtime = rt()
    runtime.emit(holder_service(runtime).logout(), runtime.t("logged_out"))


def agree(
    yes: Annotated[bool, typer.Option("--yes", help="Accept without asking (for scripts).")] = False,
) -> None:
    """Read and accept the service terms (服务须知); required before certificate commands."""
    runtime = rt()
    service = holder_service(runtime)
    if not yes:
        terms = service.terms()
        text = terms["text_zh"] if runtime.lang == "zh" else terms["text_en"]
        if runtime.json:
            runtime.emit({"accepted": False, "terms_version": terms["terms_version"], "text": text})
            raise typer.Exit(ExitStatus.RULE)
        runtime.console.print(text, markup=False)
        try:
            accepted = typer.confirm(runtime.t("terms_confirm"), default=False)
        except typer.Abort:  # no terminal and no answer (standard input at its end): nobody said yes
            from certcli.errors import UsageError

            runtime.console.print()  # end the prompt's line
            raise UsageError(detail=runtime.t("terms_need_yes")) from None
        if not accepted:
            runtime.console.print(runtime.t("terms_declined"))
            raise typer.Exit(ExitStatus.RULE)
    result = service.accept_terms()
    runtime.emit(result, runtime.t("terms_accepted", version=result["terms_version"]))
