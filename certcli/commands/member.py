"""Membership e-certificates: ``member status|info|photo|confirm|download``, the
``login --cert-number`` flow, and ``admin member review|photo|inspect|list|reset-password|transfer``."""
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from certcli.commands._admin import parse_day_option
from certcli.commands._choices import IdType, MemberProgress, PhotoSource, ReviewStage, reveal_list
from certcli.commands._runtime import PASSPHRASE_STDIN, handled, read_secret, report_error, rt
from certcli.errors import ExitStatus
from certcli.services.factory import holder_service

REVEAL_HELP = ("Details the QR code and the page disclose, comma-separated: approval_no, birth_date, mobile, email, "
               "inspection, transfers; or all / none. Default: approval_no,inspection,transfers (nothing private).")


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Membership e-certificates (电子非执业会员证): review progress, photo, personal details, "
                             "download.", no_args_is_help=True)
    for name, command in (("status", status), ("info", info), ("photo", photo), ("confirm", confirm),
                          ("download", download)):
        group.command(name)(handled(command))
    app.add_typer(group, name="member")


def register_admin(admin_app: typer.Typer) -> None:
    group = typer.Typer(help="Membership applications: two-stage review, on-site photos, annual inspections.",
                        no_args_is_help=True)
    for name, command in (("review", admin_review), ("list", admin_list), ("photo", admin_photo),
                          ("inspect", admin_inspect), ("transfer", admin_transfer),
                          ("reset-password", admin_reset_password)):
        group.command(name)(handled(command))
    admin_app.add_typer(group, name="member")


def _unlock(passphrase_stdin: bool) -> None:
    from certcli.commands._admin import unlock

    unlock(rt(), passphrase_stdin)


# --- login (called by `certcli login --cert-number N`) ---------------------------------------

def login_member(certificate_no: str, password_stdin: bool) -> None:
    """Members log in with their certificate number; the initial password is replaced in the same step."""
    from certcli.errors import PasswordChangeRequired

    runtime = rt()
    password = read_secret("password", from_stdin=password_stdin)
    service = holder_service(runtime)
    new_password = _new_password(password_stdin, prompt=False)
    try:
        result = service.login_member(certificate_no=certificate_no, password=password, new_password=new_password)
    except PasswordChangeRequired:
        # still the initial password: ask for its replacement on a terminal only now, then log in with both
        new_password = None if password_stdin or new_password else _new_password(False)
        if not new_password:
            raise
        result = service.login_member(certificate_no=certificate_no, password=password, new_password=new_password)
    runtime.emit(result, runtime.t("password_changed" if result["password_changed"] else "logged_in",
                                   name=result["name"]))


def _new_password(from_stdin: bool, prompt: bool = True) -> Optional[str]:
    """The replacement for an initial password: the second stdin line, CERTCLI_NEW_PASSWORD, or a prompt."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n") or None
    if os.environ.get("CERTCLI_NEW_PASSWORD"):
        return os.environ["CERTCLI_NEW_PASSWORD"]
    if prompt and sys.stdin.isatty():
        return typer.prompt(rt().t("label.new_password"), hide_input=True,
                            confirmation_prompt=True)
    return None


# --- member commands ------------------------------------------------------------------------

def status(
    id_number: Annotated[str, typer.Option("--id-number", help="ID number used in the membership application.")],
    name: Annotated[str, typer.Option("--name", help="Name as in the application.")],
    approval_no: Annotated[Optional[str], typer.Option(
        "--approval-no", help="Approval document number (入会批准文件号): once approved, shows the certificate number "
                              "and, the first time, the initial password.")] = None,
    id_type: Annotated[IdType, typer.Option("--id-type", help="ID document type: resident_id, passport, "
                                            "hk_macao_permit, taiwan_permit, foreign_permanent or other.",
                                            case_sensitive=False, metavar="<id_type>")] = "resident_id",
    password_file: Annotated[Optional[Path], typer.Option(
        "--password-file", help="Write the initial password to this file (mode 0600) instead of the screen.")] = None,
) -> None:
    """Review progress of your membership application (非执业申请进度查询); no login needed."""
    from certcli.home import write_private

    runtime = rt()
    service = holder_service(runtime)
    # JSON output never carries a secret: there the password goes to --password-file or stays unissued.
    issue = 0 if runtime.json else None
    if password_file is not None:
        service.check_id_number(id_type, id_number)
        _check_writable(password_file)  # before anything is issued: an undeliverable password stays unissued
        issue = 1  # one file, one password: a second membership is issued by a later query
    results = service.member_status(id_type=id_type, id_number=id_number, name=name, approval_no=approval_no,
                                    issue_passwords=issue)["applications"]
    if not results:  # not found (exit 5), saying what was looked for and what to check
        from certcli import rules
        from certcli.errors import NotFound

        raise NotFound(what="membership_application", value=f"{name.strip()}, {id_type} "
                                                             f"{rules.mask_id_number(id_number.strip().upper())}")
    for entry in results:
        if password_file is not None and "initial_password" in entry:
            try:
                write_private(password_file, (entry.pop("initial_password") + "\n").encode())
            except OSError as error:
                raise _unwritable(password_file, error) from None
            entry["initial_password_file"] = str(password_file)

    def human():
        if not results:
            runtime.console.print(runtime.t("member_none"), markup=False)
        for entry in results:
            runtime.console.print(runtime.t("progress_" + entry["progress"]), markup=False)
            runtime.console.print(runtime.t("member_progress", local=runtime.t("review_" + entry["local"]),
                                            national=runtime.t("review_" + entry["national"])), markup=False)
            for record in entry["reviews"]:
                if record["decision"] == "rejected":
                    from certcli.i18n import format_day, words

                    stage = words("stage_" + record["stage"], runtime.lang, record["stage"])
                    runtime.console.print(f"  {format_day(record['decided_at'], runtime.lang)} {stage}: "
                                          f"{record['reason']}", markup=False)
            runtime.console.print(_credentials_text(entry), markup=False)

    document = {"applications": [{k: v for k, v in e.items() if k != "initial_password"} for e in results]}
    runtime.emit(document, human)


def _check_writable(path: Path) -> None:
    """Can a file be written at ``path`` (as write_private does: a sibling, then a rename)?"""
    probe = path.with_name(f".{path.name}.{os.getpid()}.probe")
    try:
        if path.is_dir():
            raise IsADirectoryError(21, "Is a directory", str(path))
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        os.unlink(probe)
    except OSError as error:
        raise _unwritable(path, error) from None


def _unwritable(path: Path, error: OSError):
    from certcli.errors import BadInput

    return BadInput(field="--password-file", value=str(path), reason=error.strerror or "unwritable")


def _credentials_text(entry: dict) -> str:
    runtime = rt()
    number = entry.get("certificate_no")
    state = entry.get("credentials")
    if state == "approval_no_needed":
        return runtime.t("member_give_approval_no")
    if state == "initial_password" and entry.get("initial_password_file"):
        return runtime.t("member_credentials_file", certificate_no=number, path=entry["initial_password_file"])
    if state == "initial_password":
        return runtime.t("member_credentials", certificate_no=number, initial_password=entry["initial_password"])
    if state == "initial_password_available":
        return runtime.t("member_password_available")
    if state == "revealed":
        from certcli.i18n import format_instant

        return runtime.t("member_password_issued", certificate_no=number,
                         revealed_at=format_instant(entry["revealed_at"], runtime.lang))
    if state == "changed":
        return runtime.t("member_password_set", certificate_no=number)
    return ""


def info() -> None:
    """Your membership: review, photo, personal details, annual inspections, transfers, paper certificate."""
    runtime = rt()
    details = holder_service(runtime).member_info()

    def human():
        from certcli.i18n import format_day

        t = runtime.t
        for key, label in (("certificate_no", "certificate_no"), ("name", "name"), ("qualification", "membership"),
                           ("issuer", "issuer"), ("approved_on", "approved_on"), ("approval_no", "approval_no"),
                           ("region", "region")):
            if details.get(key):
                value = format_day(details[key], runtime.lang) if key == "approved_on" else details[key]
                runtime.console.print(f"{t('label.' + label)}: {value}", markup=False)
        _print_details(details["details"])
        source = details["photo"]["source"]
        photo_state = t("photo_source_" + source) if source else t("label.photo_not_chosen")
        runtime.console.print(f"{t('label.photo')}: {photo_state}", markup=False)
        yes_no = t("label.yes" if details["details_confirmed"] else "label.no")
        runtime.console.print(f"{t('label.details_confirmed')}: {yes_no}", markup=False)
        inspection = details["annual_inspection"]
        runtime.console.print(f"{t('label.latest_inspection')}: {inspection['latest_passed'] or '—'}", markup=False)
        if inspection["overdue"]:
            runtime.console.print(t("inspection_overdue"), markup=False)
        runtime.console.print(f"{t('label.paper_certificate')}: {t('paper_state_' + details['paper_certificate'])}",
                              markup=False)

    runtime.emit(details, human)


def photo(
    use: Annotated[PhotoSource, typer.Option("--use", help="exam: the exam-system photo (passed 2010 or later); "
                                                           "verified: the photo your association uploaded after "
                                                           "on-site checking.", case_sensitive=False)],
) -> None:
    """Choose the photo printed on your member certificate."""
    runtime = rt()
    result = holder_service(runtime).choose_member_photo(use)
    runtime.emit(result, runtime.t("photo_chosen", source=runtime.t("photo_source_" + use)))


def confirm(
    mobile: Annotated[Optional[str], typer.Option("--mobile", help="Mobile number (completes or corrects it).")] = None,
    email: Annotated[Optional[str], typer.Option("--email", help="Email address.")] = None,
    birth_date: Annotated[Optional[str], typer.Option("--birth-date", help="Birth date, YYYY-MM-DD.")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm without asking (for scripts).")] = False,
) -> None:
    """Confirm or complete your personal details (birth date, mobile, email) before download."""
    runtime = rt()
    service = holder_service(runtime)
    if not yes:
        shown = service.preview_member_details(mobile=mobile, email=email, birth_date=birth_date)["details"]
        if runtime.json:
            runtime.emit({"confirmed": False, "details": shown})
            raise typer.Exit(ExitStatus.RULE)
        _print_details(shown)
        try:
            accepted = typer.confirm(runtime.t("details_confirm"), default=False)
        except typer.Abort:  # end of input: nobody said yes
            accepted = False
        if not accepted:
            runtime.console.print(runtime.t("details_declined"))
            raise typer.Exit(ExitStatus.RULE)
    result = service.confirm_member_details(mobile=mobile, email=email, birth_date=birth_date)
    runtime.emit({"confirmed": True, **result}, runtime.t("details_confirmed"))


def _print_details(details: dict) -> None:
    from certcli.i18n import format_day

    runtime = rt()
    for key, value in details.items():
        if key == "birth_date" and value:    # one date style per language
            value = format_day(value, runtime.lang)
        runtime.console.print(f"{runtime.t('detail_' + key)}: {value or '—'}", markup=False)


def download(
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Where to write the PDF "
                                                   "(default: ./<certificate_no>.pdf).")] = None,
    reveal: Annotated[Optional[str], typer.Option("--reveal", help=REVEAL_HELP, callback=reveal_list)] = None,
) -> None:
    """Save your signed member certificate PDF (after choosing a photo and confirming your details)."""
    from certcli.commands.certificates import save_download

    download = holder_service(rt()).member_download(reveal)
    save_download(download, output or Path(f"{download.certificate_no}.pdf"))


# --- administrator ------------------------------------------------------------------------

def admin_review(
    certificate_no: Annotated[str, typer.Argument(help="Membership certificate number.")],
    stage: Annotated[ReviewStage, typer.Option("--stage", help="local (地方注协初核, first) or national (中注协复核, "
                                                               "second).", case_sensitive=False)],
    approve: Annotated[Optional[bool], typer.Option("--approve/--reject", help="The decision.")] = None,
    reason: Annotated[Optional[str], typer.Option("--reason", help="Why (required to reject; shown to the "
                                                                   "applicant).")] = None,
    approval_no: Annotated[Optional[str], typer.Option("--approval-no", help="Approval document number, if the "
                                                       "roster had none (national approval).")] = None,
    passphrase_stdin: Annotated[bool, PASSPHRASE_STDIN] = False,
) -> None:
    """Review a membership application: the local association first, then the national one."""
    from certcli.membership import service as membership

    runtime = rt()
    if approve is None:
        report_error("usage_error", runtime.t("usage_error", detail="--approve or --reject"), ExitStatus.USAGE)
    store = runtime.store()
    _unlock(passphrase_stdin)
    result = membership.review(store, certificate_no, stage=stage, approve=approve, reason=reason,
                               approval_no=approval_no, now=runtime.now)
    runtime.emit(result, runtime.t("member_reviewed", certificate_no=result["certificate_no"],
                                   stage=runtime.t("stage_" + stage),
                                   decision=runtime.t("review_" + result["decision"]),
                                   progress=runtime.t("progress_" + result["progress"])))


def admin_list(
    progress: Annotated[Optional[MemberProgress], typer.Option("--progress", help="awaiting_local, "
                                                               "awaiting_national, rejected_local, "
                                                               "rejected_national or approved.",
                                                               case_sensitive=False, metavar="<progress>")] = None,
) -> None:
    """Membership applications and their review progress."""
    from certcli.membership import service as membership

    runtime = rt()
    rows = membership.list_members(runtime.store(), progress)

    def human():
        from certcli.commands._tables import fit_table

        if not rows:
            runtime.console.print("—")
            return
        headers = [runtime.t(f"label.{name}") for name in ("certificate_no", "name", "region", "review_progress")]
        table = [[row["certificate_no"], row["name"], row["region"] or "", runtime.t("progress_" + row["progress"])]
                 for row in rows]
        runtime.console.print(fit_table(runtime.console, headers, table, no_wrap=(0,)))

    runtime.emit({"members": rows}, human)


def admin_photo(
    certificate_no: Annotated[str, typer.Argument(help="Membership certificate number.")],
    photo_file: Annotated[Path, typer.Argument(help="The photo checked on site: JPEG, at most 2 MiB.")],
    passphrase_stdin: Annotated[bool, PASSPHRASE_STDIN] = False,
) -> None:
    """Upload a member's photo after on-site verification (members who passed before 2010)."""
    from certcli.membership import documents as member_documents

    runtime = rt()
    store = runtime.store()
    _unlock(passphrase_stdin)
    result = member_documents.upload_verified_photo(store, certificate_no, photo_file, runtime.now)
    runtime.emit(result, runtime.t("photo_uploaded", **result))


def admin_inspect(
    certificate_no: Annotated[str, typer.Argument(help="Membership certificate number.")],
    year: Annotated[int, typer.Option("--year", help="Inspection year.")],
    passed: Annotated[Optional[bool], typer.Option("--passed/--failed", help="The result.")] = None,
    passphrase_stdin: Annotated[bool, PASSPHRASE_STDIN] = False,
) -> None:
    """Record an annual inspection (年检) result."""
    from certcli.membership import service as membership

    runtime = rt()
    if passed is None:
        report_error("usage_error", runtime.t("usage_error", detail="--passed or --failed"), ExitStatus.USAGE)
    store = runtime.store()
    _unlock(passphrase_stdin)
    result = membership.record_inspection(store, certificate_no, year=year, passed=passed, now=runtime.now)
    shown = runtime.t("inspection_passed" if passed else "inspection_failed")
    runtime.emit(result, runtime.t("inspection_recorded", certificate_no=result["certificate_no"], year=year,
                                   result=shown))


def admin_transfer(
    certificate_no: Annotated[str, typer.Argument(help="Membership certificate number.")],
    to_region: Annotated[str, typer.Option("--to", help="The region (local association) the member moves to.")],
    on: Annotated[Optional[str], typer.Option("--on", help="Transfer date (default: today).")] = None,
    passphrase_stdin: Annotated[bool, PASSPHRASE_STDIN] = False,
) -> None:
    """Record a member's transfer (转会) to another local association."""
    from certcli.membership import service as membership

    runtime = rt()
    day = parse_day_option(on, "--on")
    store = runtime.store()
    _unlock(passphrase_stdin)
    result = membership.record_transfer(store, certificate_no, to_region=to_region, on=day, now=runtime.now)
    runtime.emit(result, runtime.t("transfer_recorded", **result))


def admin_reset_password(
    certificate_no: Annotated[str, typer.Argument(help="Membership certificate number.")],
    passphrase_stdin: Annotated[bool, PASSPHRASE_STDIN] = False,
) -> None:
    """Invalidate a member's password; they obtain a new initial one with `member status`."""
    from certcli.membership import service as membership

    runtime = rt()
    store = runtime.store()
    _unlock(passphrase_stdin)
    result = membership.reset_password(store, certificate_no, runtime.now)
    runtime.emit(result, runtime.t("password_reset", certificate_no=result["certificate_no"]))
