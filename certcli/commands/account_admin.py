"""``admin account show|reset``: settle a dispute about a holder account (issue 14).

A holder whose ID document someone else registered (or who cannot get in for
another reason) brings the ID document to the issuer; the administrator looks
at the account and, if need be, resets it, so that the rightful holder can
register again.  Both are audited."""
from typing import Annotated, Optional

import typer

from certcli.commands._choices import IdType
from certcli.commands._runtime import PASSPHRASE_STDIN, handled, rt

ID_NUMBER_ARG = typer.Argument(help="The ID document number the account was registered with.")
ID_TYPE_OPTION = typer.Option("--id-type", case_sensitive=False, metavar="<id_type>",
                              help="The ID document type (resident_id, passport, hk_macao_permit, taiwan_permit, "
                                   "foreign_permanent, other), when the number is registered under more than one.")


def register_admin(admin_app: typer.Typer) -> None:
    group = typer.Typer(help="Holder accounts (持证人员账户): look at one, reset it to settle a dispute.",
                        no_args_is_help=True)
    group.command("show")(handled(show))
    group.command("reset")(handled(reset))
    admin_app.add_typer(group, name="account")


def show(id_number: Annotated[str, ID_NUMBER_ARG],
         id_type: Annotated[Optional[IdType], ID_TYPE_OPTION] = None) -> None:
    """The account registered with an ID document: name, terms, lock, sessions, and the certificates
    issued to that document with whether the account's name matches them (audited)."""
    from certcli import accounts

    runtime = rt()
    store = runtime.store()
    account = accounts.describe_for_admin(store, accounts.find_for_admin(store, id_number, id_type), runtime.now)

    def human():
        t = runtime.t
        print_ = runtime.console.print
        print_(t("account_show", name=account["name"], id_type=account["id_type"],
                 id_number_masked=account["id_number_masked"], registered_at=account["registered_at"]),
               markup=False)
        if account["reset"]:
            print_(t("account_show_reset"), markup=False)
        print_(t("account_show_terms", version=account["terms_version"]) if account["terms_version"]
               else t("account_show_no_terms"), markup=False)
        if account["locked_until"]:
            print_(t("account_show_locked", until=account["locked_until"]), markup=False)
        print_(t("account_show_sessions", sessions=account["sessions"], last_seen_at=account["last_seen_at"]),
               markup=False)
        print_(t("account_show_matches" if account["matches_certificates"] else "account_show_matches_none"),
               markup=False)
        for cert in account["certificates"]:
            same = t("label.yes") if cert["name_matches"] else t("label.no")
            print_(t("account_show_certificate", certificate_no=cert["certificate_no"], name=cert["name"],
                     qualification=cert["qualification"], status=t("status_" + cert["status"]), same=same),
                   markup=False)

    runtime.emit(account, human)


def reset(id_number: Annotated[str, ID_NUMBER_ARG],
          id_type: Annotated[Optional[IdType], ID_TYPE_OPTION] = None,
          reason: Annotated[Optional[str], typer.Option("--reason", help="Why (kept in the audit log), e.g. the "
                                                        "holder showed their ID document on site.")] = None,
          passphrase_stdin: Annotated[bool, PASSPHRASE_STDIN] = False) -> None:
    """Reset an account after checking the holder's ID document: its password stops working, its
    sessions end, and the next `certcli register` with that document replaces it (audited)."""
    from certcli import accounts
    from certcli.commands._admin import unlock

    runtime = rt()
    store = runtime.store()
    row = accounts.find_for_admin(store, id_number, id_type)
    unlock(runtime, passphrase_stdin)
    result = accounts.reset_for_admin(store, row, reason=reason, now=runtime.now)
    runtime.emit(result, runtime.t("account_reset", name=result["name"], id_type=result["id_type"],
                                   id_number_masked=result["id_number_masked"]))
