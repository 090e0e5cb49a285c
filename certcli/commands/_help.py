"""What ``--help`` shows beyond each command's own docstring (issue 14, item 9): the Chinese
term beside the English one (申请加注 / annotate), a one-line summary for the command lists
(never cut short), and examples.  One table of examples here, the terms and summaries in
the catalog; a new command without both fails ``tests/test_usability.py``."""
from __future__ import annotations

import inspect

# command path -> examples; the Chinese term and the one-line summary are the catalog's
# "help.PATH" (certcli/data/messages.json: [term, summary]; the root's is "help.certcli")
EXAMPLES: dict[str, list[str]] = {
    "": [
        "certcli demo",
        "certcli register --name 王小明 --id-number 110101199003074477",
        "certcli verify cert.pdf",
    ],
    "register": [
        "certcli register --name 王小明 --id-number 110101199003074477",
        'certcli register --name "John Smith" --id-type passport --id-number E1234567',
    ],
    "login": [
        "certcli login --id-number 110101199003074477",
        "certcli login --cert-number 2021CPA110000001",
    ],
    "logout": [
        "certcli logout",
    ],
    "agree": [
        "certcli agree",
        "certcli agree --yes",
    ],
    "list": [
        "certcli list",
    ],
    "info": [
        "certcli info 2022ECO110100001",
    ],
    "annotate": [
        "certcli annotate 2022ECO110100001",
        "certcli annotate 2022ECO110100001 --scenario self-use --days 30",
    ],
    "renew": [
        "certcli renew 2022ECO110100001 --days 90",
    ],
    "download": [
        "certcli download 2022ECO110100001 -o cert.pdf",
    ],
    "verify": [
        "certcli verify cert.pdf",
        'certcli verify --qr "$PAYLOAD" --trust trust.pem',
        "certcli verify --number 2022ECO110100001 --name 王小明",
        "certcli verify received/ more.pdf --jsonl",
    ],
    "demo": [
        "certcli demo",
        "certcli demo --keep ./certcli-demo",
    ],
    "scope": [
        "certcli scope",
    ],
    "faq": [
        "certcli faq",
        "certcli --lang zh faq annotation",
    ],
    "serve": [
        "certcli serve --port 8765",
    ],
    "member": [
        "certcli member status --id-number 110108198511120038 --name 赵六",
    ],
    "member status": [
        "certcli member status --id-number 110108198511120038 --name 赵六",
        "certcli member status --id-number 110108198511120038 --name 赵六 \\\n"
        '    --approval-no "京注协〔2021〕15号" --password-file initial-password.txt',
    ],
    "member info": [
        "certcli member info",
    ],
    "member photo": [
        "certcli member photo --use exam",
    ],
    "member confirm": [
        "certcli member confirm --email zhao@example.cn --yes",
    ],
    "member download": [
        "certcli member download -o member.pdf --reveal mobile",
    ],
    "paper": [
        "certcli paper request 2022ECO110100001 --method onsite",
    ],
    "paper request": [
        "certcli paper request 2022ECO110100001 --method onsite",
        "certcli paper request 2022ECO110100001 --method mail \\\n"
        '    --address "北京市西城区…"',
    ],
    "paper status": [
        "certcli paper status",
    ],
    "help": [
        "certcli help faq quota",
    ],
    "help faq": [
        "certcli help faq",
        "certcli help faq quota",
    ],
    "admin": [
        "certcli admin init",
        "certcli admin issue roster.csv",
    ],
    "admin init": [
        "certcli admin init",
    ],
    "admin issue": [
        "certcli admin issue roster.csv --dry-run",
        "certcli admin issue roster.xlsx --sheet 名单 --rejects rejects.csv",
    ],
    "admin revoke": [
        'certcli admin revoke 2022ECO110100001 --reason "obtained by fraud"',
    ],
    "admin process": [
        "certcli admin process",
        "certcli admin process --workers 2 --claim-seconds 120",
    ],
    "admin migrate": [
        "certcli admin migrate --to postgresql://certcli@db.example.cn/certs",
    ],
    "admin stats": [
        "certcli admin stats",
    ],
    "admin pending": [
        "certcli admin pending",
        "certcli admin pending --overdue",
    ],
    "admin export": [
        "certcli admin export -o certificates.csv",
        "certcli admin export --format jsonl -o certificates.jsonl",
    ],
    "admin trust": [
        "certcli admin trust -o trust.pem",
    ],
    "admin terms": [
        "certcli admin terms --zh terms-zh.txt --en terms-en.txt",
    ],
    "admin rotate-seal": [
        "certcli admin rotate-seal ministry",
    ],
    "admin retire-seal": [
        "certcli admin retire-seal 0123456789abcdef \\\n"
        "    --compromised-at 2026-03-01T00:00:00+08:00",
    ],
    "admin config": [
        "certcli admin config",
        "certcli admin config --verify-url https://verify.example.cn/v",
    ],
    "admin publish-verifier": [
        "certcli admin publish-verifier -o site/",
    ],
    "admin account": [
        "certcli admin account show 110101199003074477",
    ],
    "admin account show": [
        "certcli admin account show 110101199003074477",
        "certcli admin account show E12345678 --id-type passport",
    ],
    "admin account reset": [
        'certcli admin account reset 110101199003074477 --reason "ID checked on site"',
    ],
    "admin audit": [
        "certcli admin audit verify",
    ],
    "admin audit verify": [
        "certcli admin audit verify",
    ],
    "admin audit export": [
        "certcli admin audit export -o audit.jsonl",
    ],
    "admin audit head": [
        "certcli admin audit head",
    ],
    "admin member": [
        "certcli admin member list --progress awaiting_local",
    ],
    "admin member review": [
        "certcli admin member review 2021CPA110000001 --stage local --approve",
        "certcli admin member review 2021CPA110000001 --stage national --reject \\\n"
        '    --reason "材料不全"',
    ],
    "admin member list": [
        "certcli admin member list",
        "certcli admin member list --progress awaiting_national",
    ],
    "admin member photo": [
        "certcli admin member photo 2008CPA310000002 photo.jpg",
    ],
    "admin member inspect": [
        "certcli admin member inspect 2021CPA110000001 --year 2025 --passed",
    ],
    "admin member transfer": [
        "certcli admin member transfer 2021CPA110000001 --to 上海",
    ],
    "admin member reset-password": [
        "certcli admin member reset-password 2021CPA110000001",
    ],
    "admin paper": [
        "certcli admin paper list --status requested",
    ],
    "admin paper list": [
        "certcli admin paper list",
        "certcli admin paper list --status ready",
    ],
    "admin paper ready": [
        "certcli admin paper ready PR20260301000001",
    ],
    "admin paper handed-over": [
        "certcli admin paper handed-over PR20260301000001",
    ],
    "admin paper mailed": [
        "certcli admin paper mailed PR20260301000001 --tracking SF1234567890",
    ],
    "admin region": [
        "certcli admin region list",
    ],
    "admin region set": [
        "certcli admin region set 北京 --mode electronic --since 2021-02-01",
    ],
    "admin region list": [
        "certcli admin region list",
    ],
}


def _value(value):
    """A typer setting's value (typer keeps unset ones as DefaultPlaceholder)."""
    return getattr(value, "value", value)


def term_and_summary(path: str) -> tuple[str, str]:
    """The Chinese term and the one-line English summary of a command (catalog ``help.PATH``)."""
    from certcli import i18n

    key = f"help.{path or 'certcli'}"
    return i18n.t(key, "zh"), i18n.t(key, "en")


def _examples(examples: list[str]) -> str:
    # \b: click keeps the lines of this paragraph as they are; "… \\" goes on on the next line
    lines = [line for example in examples for line in example.splitlines()]
    return "\b\nExamples (示例):\n" + "\n".join(f"  {line}" for line in lines)


def _long_help(path: str, text: str | None) -> str:
    zh, _summary = term_and_summary(path)
    head = f"{zh} / {path.rpartition(' ')[2]}"
    return f"{head}\n\n{inspect.cleandoc(text)}" if text else head


def decorate(app) -> None:
    """Give every command and group of ``app`` its Chinese term, summary and examples."""
    app.info.epilog = _examples(EXAMPLES[""])
    _decorate(app, "")
    _wrap_by_display_width()


def _decorate(typer_app, prefix: str) -> None:
    for info in [*typer_app.registered_commands, *typer_app.registered_groups]:
        path = f"{prefix}{info.name}"
        group = getattr(info, "typer_instance", None)
        if path in EXAMPLES:        # tests/test_usability.py names a command without an entry
            text = _value(info.help) or (_value(group.info.help) if group else inspect.getdoc(info.callback))
            zh, summary = term_and_summary(path)
            info.help = _long_help(path, text)
            info.short_help = f"{zh} / {summary}"
            info.epilog = _examples(EXAMPLES[path])
        if group is not None:
            _decorate(group, path + " ")


def _wrap_by_display_width() -> None:
    """Help text is wrapped by counting characters; a Chinese character takes two columns,
    so lines with Chinese ran past 80 columns.  Each wide character is counted twice (a
    marker after it while wrapping, removed afterwards).  Typer's bundled click is not a
    public API: if it moves, help is wrapped as before."""
    try:
        from typer._click import formatting
    except ImportError:  # pragma: no cover - another typer
        return
    original = getattr(formatting, "wrap_text", None)
    if original is None or getattr(original, "display_width", False):
        return
    import unicodedata

    def wrap_text(text: str, *args, **kwargs) -> str:
        marked = "".join(c + "\0" if unicodedata.east_asian_width(c) in "WF" else c for c in text)
        return original(marked, *args, **kwargs).replace("\0", "")

    wrap_text.display_width = True
    formatting.wrap_text = wrap_text
