"""register, login, logout, agree (R10, R11)."""
from typing import Annotated, Optional

import typer

from certcli.commands._runtime import PASSWORD_STDIN, handled, read_secret, rt

ID_TYPE_HELP = "ID document type: resident_id (default), passport, hk_macao_permit, taiwan_permit, foreign_permanent, other."


def register(app: typer.Typer) -> None:
    app.command("register")(handled(register_holder))
    app.command("login")(handled(login))
    app.command("logout")(handled(logout))
    app.command("agree")(handled(agree))


def register_holder(
    name: Annotated[str, typer.Option("--name", help="Name exactly as on the certificate.")],
    id_number: Annotated[str, typer.Option("--id-number", help="Number of the ID document used for the exam.")],
    id_type: Annotated[str, typer.Option("--id-type", help=ID_TYPE_HELP)] = "resident_id",
    password_stdin: Annotated[bool, PASSWORD_STDIN] = False,
) -> None:
    """Register as a holder with the ID document under which the certificate was obtained."""
    from certcli import accounts, rules

    runtime = rt()
    rules.normalize_id_number(id_type, id_number)  # reject a bad number before asking for a password
    password = read_secret("password", from_stdin=password_stdin, confirm=True)
    account = accounts.register(runtime.store(), id_type=id_type, id_number=id_number, name=name,
                                password=password, now=runtime.now)
    masked = rules.mask_id_number(account.id_number)
    runtime.emit({"registered": True, "name": account.name, "id_type": account.id_type, "id_number_masked": masked},
                 runtime.t("registered", name=account.name, id_number_masked=masked))


def login(
    id_number: Annotated[Optional[str], typer.Option("--id-number", help="Your ID document number.")] = None,
    id_type: Annotated[Optional[str], typer.Option("--id-type", help=ID_TYPE_HELP)] = None,
    password_stdin: Annotated[bool, PASSWORD_STDIN] = False,
    cert_number: Annotated[Optional[str], typer.Option(
        "--cert-number", help="Members: your membership certificate number (the initial password is changed "
                              "at first login).")] = None,
) -> None:
    """Log in; the session lasts until 8 idle hours have passed."""
    from certcli import accounts, rules
    from certcli.commands._runtime import report_error

    runtime = rt()
    if cert_number or id_type == "member":
        from certcli.commands.member import login_member

        return login_member(cert_number or id_number or "", password_stdin)
    if not id_number:
        report_error("usage_error", runtime.t("usage_error", detail="--id-number (members: --cert-number)"), 2)
    password = read_secret("password", from_stdin=password_stdin)
    store = runtime.store()
    account = accounts.login(store, runtime.home, id_number=id_number, password=password,
                             id_type=id_type, now=runtime.now)
    terms = accounts.current_terms(store, runtime.now)
    needs_terms = account.terms_version != terms["version"]
    message = runtime.t("logged_in", name=account.name)
    if needs_terms:
        message += "\n" + runtime.t("terms_not_accepted", current_version=terms["version"])
    runtime.emit({"logged_in": True, "name": account.name, "id_number_masked": rules.mask_id_number(account.id_number),
                  "terms_accepted": not needs_terms, "terms_version": terms["version"]}, message)


def logout() -> None:
    """End the session."""
    from certcli import accounts

    runtime = rt()
    was_in = accounts.logout(runtime.store(), runtime.home)
    runtime.emit({"logged_out": was_in}, runtime.t("logged_out"))


def agree(
    yes: Annotated[bool, typer.Option("--yes", help="Accept without asking (for scripts).")] = False,
) -> None:
    """Read and accept the service terms (服务须知); required before certificate commands."""
    from certcli import accounts

    runtime = rt()
    store = runtime.store()
    account = accounts.current_account(store, runtime.home, runtime.now)
    terms = accounts.current_terms(store, runtime.now)
    text = terms["text_zh"] if runtime.lang == "zh" else terms["text_en"]
    if not yes:
        if runtime.json:
            runtime.emit({"accepted": False, "terms_version": terms["version"], "text": text})
            raise typer.Exit(4)
        runtime.console.print(text, markup=False)
        if not typer.confirm(runtime.t("terms_confirm"), default=False):
            runtime.console.print(runtime.t("terms_declined"))
            raise typer.Exit(4)
    version = accounts.accept_terms(store, account, runtime.now)
    runtime.emit({"accepted": True, "terms_version": version}, runtime.t("terms_accepted", version=version))
