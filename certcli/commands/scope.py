"""``scope`` (证书查询验证范围) and ``faq`` / ``help faq`` (常见问题解答)."""
from typing import Annotated, Optional

import typer

from certcli.commands._runtime import handled, report_error, rt
from certcli.errors import ExitStatus

TOPIC_HELP = ("One topic: since-when, legal-effect, download, seals, annotation, quota, expired, exempt, empty-list, "
              "scope, paper, member (default: all).")


def register(app: typer.Typer) -> None:
    app.command("scope")(handled(scope))
    app.command("faq")(handled(faq))
    help_group = typer.Typer(help="Help topics beyond --help: the FAQ.", no_args_is_help=True)
    help_group.command("faq")(handled(faq))
    app.add_typer(help_group, name="help")


def register_admin(admin_app: typer.Typer) -> None:
    """Nothing for administrators: scope and FAQ are public."""


def scope(
    store_only: Annotated[bool, typer.Option("--store-only", help="Only qualifications this store holds.")] = False,
) -> None:
    """Qualifications covered by verification, their seal, and whether annotation applies."""
    from certcli.certificates import scope as scope_module

    runtime = rt()
    # works without a store too: then it is the built-in catalogue
    store = runtime.store() if runtime.has_store() else None
    result = scope_module.scope(store, store_only=store_only)

    def human():
        from rich.table import Table

        table = Table(*(runtime.t(f"label.{name}") for name in ("qualification", "seal", "annotation",
                                                                  "certificates")))
        for row in result["qualifications"]:
            table.add_row(row["qualification"], runtime.t(f"seal.{row['seal']}"),
                          runtime.t(f"annotation_rule.{row['annotation']}"), str(row["certificates"]))
        runtime.console.print(table)

    runtime.emit(result, human)


def faq(topic: Annotated[Optional[str], typer.Argument(help=TOPIC_HELP)] = None) -> None:
    """Answers to the common questions about electronic certificates (in --lang zh or en)."""
    from certcli.certificates import scope as scope_module

    runtime = rt()
    entries = scope_module.faq_entries(topic, runtime.lang)
    if entries is None:
        report_error("not_found", runtime.t("faq_unknown_topic", topic=topic, known=scope_module.faq_topics()),
                     ExitStatus.NOT_FOUND)

    def human():
        from rich.markup import escape

        for number, entry in enumerate(entries, start=1):
            runtime.console.print(f"[bold]{number}. {escape(entry['question'])}[/]  [dim]({entry['topic']})[/]")
            runtime.console.print(entry["answer"], markup=False)
            runtime.console.print()

    runtime.emit({"faq": entries}, human)
