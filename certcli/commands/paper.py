"""Paper certificates and regional policy: ``paper request|status`` for holders,
``admin paper list|ready|handed-over|mailed`` and ``admin region set|list``."""
from typing import Annotated, Optional

import typer

from certcli.commands._choices import PaperMethod, PaperStatus, RegionMode
from certcli.commands._runtime import PASSPHRASE_STDIN, handled, rt
from certcli.services.factory import holder_service


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Paper certificates (纸质证书): request collection on site or by mail, follow the "
                             "request.", no_args_is_help=True)
    group.command("request")(handled(request))
    group.command("status")(handled(status))
    app.add_typer(group, name="paper")


def register_admin(admin_app: typer.Typer) -> None:
    paper = typer.Typer(help="Paper certificate collection requests: list them and move them on.",
                        no_args_is_help=True)
    for name, command in (("list", admin_list), ("ready", admin_ready), ("handed-over", admin_handed_over),
                          ("mailed", admin_mailed)):
        paper.command(name)(handled(command))
    admin_app.add_typer(paper, name="paper")
    region = typer.Typer(help="Regional issuance policy: electronic only, paper only, or both.", no_args_is_help=True)
    region.command("set")(handled(region_set))
    region.command("list")(handled(region_list))
    admin_app.add_typer(region, name="region")


def _checklist(keys: list[str]) -> list[dict]:
    return [{"item": key, "text": rt().t(f"checklist.{key}")} for key in keys]


def _method_text(row: dict) -> str:
    key = "method_onsite_proxy" if row["method"] == "onsite" and row["proxy"] else "method_" + row["method"]
    return rt().t(key)


def _print_request(row: dict, header: str) -> None:
    runtime = rt()
    runtime.console.print(header, markup=False)
    for number, item in enumerate(row["checklist"], start=1):
        runtime.console.print(f"  {number}. {item['text']}", markup=False)


def request(
    certificate_no: Annotated[str, typer.Argument(help="Certificate number.")],
    method: Annotated[PaperMethod, typer.Option("--method", help="onsite (现场领取) or mail (邮寄).",
                                                case_sensitive=False)],
    proxy: Annotated[bool, typer.Option("--proxy", help="Someone collects on site for you (委托代领).")] = False,
    address: Annotated[Optional[str], typer.Option("--address", help="Delivery address (by mail).")] = None,
) -> None:
    """Request your paper certificate and see the materials to bring or send."""
    runtime = rt()
    result = holder_service(runtime).request_paper(certificate_no, method=method, proxy=proxy, address=address)
    result["checklist"] = _checklist(result["checklist"])
    header = runtime.t("paper_requested", request_no=result["request_no"], method=_method_text(result))
    runtime.emit(result, lambda: _print_request(result, header))


def status() -> None:
    """Your paper certificate requests and where each stands."""
    runtime = rt()
    rows = holder_service(runtime).paper_requests()["requests"]
    for row in rows:
        row["checklist"] = _checklist(row["checklist"])

    def human():
        if not rows:
            runtime.console.print(runtime.t("paper_none"), markup=False)
        for row in rows:
            state = runtime.t("paper_status_" + row["status"])
            tracking = f"  {row['tracking_no']}" if row["tracking_no"] else ""
            _print_request(row, f"{row['request_no']}  {row['certificate_no']}  {_method_text(row)}  {state}{tracking}")

    runtime.emit({"requests": rows}, human)


# --- administrator -------------------------------------------------------------------------

def _unlock(passphrase_stdin: bool):
    from certcli.commands._admin import unlock

    runtime = rt()
    store = runtime.store()
    unlock(runtime, passphrase_stdin)
    return runtime, store


def admin_list(status_filter: Annotated[Optional[PaperStatus], typer.Option(
        "--status", help="requested, ready, handed_over or mailed.", case_sensitive=False)] = None) -> None:
    """Paper collection requests, oldest first."""
    from certcli.regions import service as regions

    runtime = rt()
    rows = regions.all_requests(runtime.store(), status_filter)

    def human():
        from certcli.commands._tables import fit_table
        from certcli.i18n import format_instant

        if not rows:
            runtime.console.print("—")
            return
        headers = [runtime.t(f"label.{name}") for name in ("request_no", "certificate_no", "region",
                                                           "collection_method", "status", "requested_at")]
        table = [[row["request_no"], row["certificate_no"], row["region"] or "", _method_text(row),
                  runtime.t("paper_status_" + row["status"]),
                  format_instant(row["requested_at"], runtime.lang, zone=False)] for row in rows]
        runtime.console.print(fit_table(runtime.console, headers, table, no_wrap=(0, 1)))

    runtime.emit({"requests": rows}, human)


def _move(reference: str, action: str, tracking_no: Optional[str], passphrase_stdin: bool) -> None:
    from certcli.regions import service as regions

    runtime, store = _unlock(passphrase_stdin)
    result = regions.move_request(store, reference, action, tracking_no=tracking_no, now=runtime.now)
    runtime.emit(result, runtime.t("paper_moved", request_no=result["request_no"],
                                   status=runtime.t("paper_status_" + result["status"])))


REQUEST_ARG = typer.Argument(help="Request number (PR…) or certificate number.")


def admin_ready(reference: Annotated[str, REQUEST_ARG],
                passphrase_stdin: Annotated[bool, PASSPHRASE_STDIN] = False) -> None:
    """The paper certificate is ready to collect (on site) or to send (mail)."""
    _move(reference, "ready", None, passphrase_stdin)


def admin_handed_over(reference: Annotated[str, REQUEST_ARG],
                      passphrase_stdin: Annotated[bool, PASSPHRASE_STDIN] = False) -> None:
    """The holder (or their proxy) collected the paper certificate on site."""
    _move(reference, "handed_over", None, passphrase_stdin)


def admin_mailed(reference: Annotated[str, REQUEST_ARG],
                 tracking: Annotated[str, typer.Option("--tracking", help="Courier tracking number.")],
                 passphrase_stdin: Annotated[bool, PASSPHRASE_STDIN] = False) -> None:
    """The paper certificate was sent by courier."""
    _move(reference, "mailed", tracking, passphrase_stdin)


def region_set(
    region: Annotated[str, typer.Argument(help="Region as written in rosters, e.g. 北京 or 广西.")],
    mode: Annotated[RegionMode, typer.Option("--mode", help="electronic, paper or both.", case_sensitive=False)],
    since: Annotated[Optional[str], typer.Option("--since", help="Applies to certificates issued on or after this "
                                                 "day (default: all).")] = None,
    months: Annotated[Optional[int], typer.Option("--collection-after-months", help="Paper collection opens this "
                                                  "many months after the results (default 2).")] = None,
    passphrase_stdin: Annotated[bool, PASSPHRASE_STDIN] = False,
) -> None:
    """Set a region's issuance policy."""
    from certcli.regions import service as regions
    from certcli.commands._admin import parse_day_option

    day = parse_day_option(since, "--since")
    runtime, store = _unlock(passphrase_stdin)
    result = regions.set_policy(store, region, mode, since=day, months=months, now=runtime.now)
    runtime.emit(result, _policy_text(result))


def _policy_text(policy: dict) -> str:
    return rt().t("region_set" if policy["since"] else "region_set_always", region=policy["region"],
                  mode=rt().t("mode_" + policy["mode"]), since=policy["since"],
                  months=policy["collection_after_months"])


def region_list() -> None:
    """Every regional policy; regions not listed issue both forms."""
    from certcli.regions import service as regions

    runtime = rt()
    rows = regions.list_policies(runtime.store())

    def human():
        for row in rows:
            runtime.console.print(_policy_text(row), markup=False)

    runtime.emit({"regions": rows, "default_mode": "both"}, human)
