"""list, info, annotate, renew, download: a holder's certificate commands."""
from pathlib import Path
from typing import Annotated, Optional

import typer

from certcli.commands._runtime import handled, rt
from certcli.services.factory import holder_service

DAYS_HELP = "Validity in whole days, 1–90 (default and recommended: 90)."


def register(app: typer.Typer) -> None:
    app.command("list")(handled(list_certificates))
    app.command("info")(handled(info))
    app.command("annotate")(handled(annotate))
    app.command("renew")(handled(renew))
    app.command("download")(handled(download))


def _state_text(summary: dict, status: str = "valid", *, zone: bool = True, short: bool = False) -> str:
    """An annotation state in words; its end as the last usable day ("有效期至 2026年05月29日").
    A revoked certificate has no annotation in force, whatever its dates say (R8)."""
    from certcli import i18n

    runtime = rt()
    if status == "revoked":
        return "—" if short else runtime.t("state_void")
    through = summary.get("valid_through") or _through(summary.get("valid_until"))
    return runtime.t(f"state_{summary['state']}", valid_through=i18n.format_day(through, runtime.lang, zone=zone))


def _through(valid_until: str | None) -> str | None:
    """The last usable day of an exclusive end (a server older than valid_through)."""
    from certcli import i18n, rules

    instant = i18n.as_instant(valid_until)
    return rules.valid_through(instant).isoformat() if instant else None


def list_certificates() -> None:
    """Your certificates: status and annotation state."""
    runtime = rt()
    document = holder_service(runtime).certificates()
    rows = document["certificates"]
    if not rows:
        document["message"] = runtime.t("empty_list")

    def human():
        if not rows:
            runtime.console.print(runtime.t("empty_list"), markup=False)
            return
        runtime.console.print(_list_table(rows))

    runtime.emit(document, human)


def _list_table(rows: list[dict]):
    """The holder's certificates at the console's width: numbers and dates on one line (people
    copy them), headers whole; when six columns cannot fit, the level joins the qualification."""
    from certcli import i18n
    from certcli.commands._tables import can_fit, fit_table, fits_as_is

    runtime = rt()
    lang = runtime.lang

    def table_rows(merged: bool, narrow: bool) -> list[list[str]]:
        out = []
        for row in rows:
            qualification = row["qualification"]
            if merged and row["level"]:
                qualification += f"（{row['level']}）" if lang == "zh" else f" ({row['level']})"
            state = _state_text(row["annotation"], row["status"], zone=False, short=True)
            cells = [row["certificate_no"], qualification, row["level"] or "",
                     i18n.format_day(row["issued_on"], lang), runtime.t(f"status_{row['status']}"),
                     _date_on_its_line(state, lang) if narrow else state]
            out.append(cells[:2] + cells[3:] if merged else cells)
        return out

    headers = [runtime.t(f"label.{label}")
               for label in ("certificate_no", "qualification", "level", "issued", "status", "annotation")]

    def layout(merged: bool, narrow: bool):
        """(headers, rows, columns that never wrap): numbers and dates, which people copy."""
        shown = headers[:2] + headers[3:] if merged else headers
        no_wrap = (0, len(shown) - 3) + ((len(shown) - 1,) if narrow else ())
        return shown, table_rows(merged, narrow), no_wrap

    width = runtime.console.width
    # as is; the annotation's date on a line of its own; and the level beside the qualification
    for merged, narrow in ((False, False), (False, True), (True, True)):
        shown, cells, no_wrap = layout(merged, narrow)
        if fits_as_is(shown, cells, width) or (narrow and can_fit(shown, cells, width, no_wrap)):
            break
    return fit_table(runtime.console, shown, cells, no_wrap=no_wrap, caption=runtime.t("dates_note"))


def _date_on_its_line(text: str, lang: str) -> str:
    """"valid through 29 May 2026" as two lines, the date whole on the second (narrow tables)."""
    import re

    pattern = r" (\d{4}年)" if lang == "zh" else r" (\d{1,2} [A-Z][a-z]{2} \d{4})"
    return re.sub(pattern, r"\n\1", text, count=1)


def info(certificate_no: Annotated[str, typer.Argument(help="Certificate number.")]) -> None:
    """Details of one of your certificates, with its annotation history."""
    runtime = rt()
    details = holder_service(runtime).certificate(certificate_no)

    def human():
        from certcli import i18n

        lang = runtime.lang
        for key in ("certificate_no", "name", "id_number_masked", "qualification", "level", "specialty",
                    "issued_on", "issuer"):
            if details.get(key):
                value = i18n.format_day(details[key], lang) if key == "issued_on" else details[key]
                runtime.console.print(f"{runtime.t('label.' + key)}: {value}", markup=False)
        runtime.console.print(f"{runtime.t('label.status')}: {runtime.t('status_' + details['status'])}",
                              markup=False)
        state = _state_text(details["annotation"], details["status"])
        runtime.console.print(f"{runtime.t('label.annotation')}: {state}", markup=False)
        if not details["exempt"] and details["status"] != "revoked":
            runtime.console.print(f"{runtime.t('label.quota_remaining')}: {details['quota_remaining']}", markup=False)
        if details["annotations"]:
            runtime.console.print(_history_table(details["annotations"], details["status"]))

    runtime.emit(details, human)


def _history_table(annotations: list[dict], status: str):
    """The annotation history: number, scenario and days in words, applied when, state."""
    from certcli import i18n
    from certcli.commands._tables import fit_table, fits_as_is

    runtime = rt()
    lang = runtime.lang

    def table_rows(narrow: bool) -> list[list[str]]:
        rows = []
        for a in annotations:
            label = a.get("scenario_label") or {}
            scenario = label.get(lang) or a["scenario"] or ""
            if a["state"] == "none" and i18n.has(f"annotation_status.{a['status']}"):   # failed, cancelled
                state = runtime.t(f"annotation_status.{a['status']}")
            else:
                state = _state_text(a, status, zone=False, short=True)
            rows.append([a["annotation_no"] or "", scenario, runtime.t("days_value", days=a["days"]),
                         i18n.format_instant(a["applied_at"], lang, zone=False),
                         _date_on_its_line(state, lang) if narrow else state])
        return rows

    headers = [runtime.t(f"label.{key}") for key in ("annotation_no", "scenario", "days", "applied_at", "annotation")]
    rows = table_rows(False)
    narrow = not fits_as_is(headers, rows, runtime.console.width)
    return fit_table(runtime.console, headers, table_rows(True) if narrow else rows,
                     no_wrap=(0, 3, 4) if narrow else (0, 3), caption=runtime.t("dates_note"))


def annotate(
    certificate_no: Annotated[str, typer.Argument(help="Certificate number.")],
    scenario: Annotated[Optional[str], typer.Option("--scenario", help="Usage scenario (self-use).")] = None,
    days: Annotated[int, typer.Option("--days", help=DAYS_HELP)] = 90,
) -> None:
    """Apply for an annotation (加注): a usage scenario and a validity period."""
    _print_applied(holder_service(rt()).annotate(certificate_no, scenario=scenario, days=days))


def renew(
    certificate_no: Annotated[str, typer.Argument(help="Certificate number.")],
    days: Annotated[int, typer.Option("--days", help=DAYS_HELP)] = 90,
) -> None:
    """Apply again with the scenario of your latest annotation (e.g. after it expired)."""
    _print_applied(holder_service(rt()).renew(certificate_no, days=days))


def _print_applied(result: dict) -> None:
    from certcli import i18n

    runtime = rt()
    through = result.get("valid_through") or _through(result["valid_until"])
    runtime.emit(result, runtime.t("annotation_applied", annotation_no=result["annotation_no"],
                                   valid_through=i18n.format_day(through, runtime.lang, zone=True)))


def download(
    certificate_no: Annotated[str, typer.Argument(help="Certificate number.")],
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Where to write the PDF "
                                                   "(default: ./<certificate_no>.pdf).")] = None,
) -> None:
    """Save the signed PDF of your certificate (needs a completed, unexpired annotation, unless exempt)."""
    import re

    runtime = rt()
    download = holder_service(runtime).download(certificate_no)
    # the default name is built from the number: never let it climb out of the current folder
    target = output or Path(re.sub(r"[^A-Za-z0-9_-]", "_", certificate_no) + ".pdf")
    save_download(download, target)


def save_download(download, target: Path) -> None:
    """Write a downloaded PDF where the holder asked and report it (certificates and member certificates)."""
    import hashlib

    from certcli.home import write_public

    runtime = rt()
    write_public(target, download.pdf)
    from certcli import i18n

    through = download.facts.get("valid_through") or _through(download.facts.get("valid_until"))
    runtime.emit({"certificate_no": download.certificate_no, "path": str(target), "bytes": len(download.pdf),
                  "sha256": hashlib.sha256(download.pdf).hexdigest(), **download.facts},
                 runtime.t("downloaded", path=target, certificate_no=download.certificate_no,
                           valid_through=i18n.format_day(through, runtime.lang, zone=True) if through else None))
