"""What ``--help`` shows beyond each command's own docstring (issue 14, item 9): the Chinese
term beside the English one (申请加注 / annotate), a one-line summary for the command lists
(never cut short), and examples.  One table, so that a new command without an entry fails
``tests/test_usability.py``."""
from __future__ import annotations

import inspect

# command path -> (Chinese term, summary for the command list, examples)
HELP: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "": ("专业技术人员职业资格电子证书", "", (
        "certcli demo",
        "certcli register --name 王小明 --id-number 110101199003074477",
        "certcli verify cert.pdf")),
    "register": ("注册", "Register with the ID document under which you obtained the certificate.", (
        "certcli register --name 王小明 --id-number 110101199003074477",
        'certcli register --name "John Smith" --id-type passport --id-number E12345678')),
    "login": ("登录", "Log in with your ID number (members: the certificate number).", (
        "certcli login --id-number 110101199003074477",
        "certcli login --cert-number 2021CPA110000001")),
    "logout": ("退出登录", "End the session.", ("certcli logout",)),
    "agree": ("同意服务须知", "Read and accept the service terms; needed before certificate commands.", (
        "certcli agree", "certcli agree --yes")),
    "list": ("我的证书", "Your certificates, their status and annotation state.", ("certcli list",)),
    "info": ("证书详情", "One of your certificates, with its annotation history.", (
        "certcli info 2022ECO110100001",)),
    "annotate": ("申请加注", "Apply for an annotation: a usage scenario and a validity period.", (
        "certcli annotate 2022ECO110100001",
        "certcli annotate 2022ECO110100001 --scenario self-use --days 30")),
    "renew": ("重新加注", "Apply again with the scenario of your latest annotation.", (
        "certcli renew 2022ECO110100001 --days 90",)),
    "download": ("下载证书", "Save the signed PDF of your certificate.", (
        "certcli download 2022ECO110100001 -o cert.pdf",)),
    "verify": ("证书查验", "Verify a PDF, a QR code, or a certificate number and name.", (
        "certcli verify cert.pdf",
        'certcli verify --qr "$PAYLOAD" --trust trust.pem',
        "certcli verify --number 2022ECO110100001 --name 王小明")),
    "demo": ("演示", "Run the whole flow in a throwaway home, narrated.", (
        "certcli demo", "certcli demo --keep ./certcli-demo")),
    "scope": ("查询验证范围", "Qualifications covered by verification, and their seals.", ("certcli scope",)),
    "faq": ("常见问题", "Answers to the common questions about electronic certificates.", (
        "certcli faq", "certcli --lang zh faq annotation")),
    "serve": ("发证机构服务", "Run the issuer's HTTP service for remote holders and verifiers.", (
        "certcli serve --port 8765",)),
    "member": ("电子非执业会员证", "Membership e-certificates: progress, photo, details, download.", (
        "certcli member status --id-number 110108198511120038 --name 赵六",)),
    "member status": ("入会申请进度查询", "Progress of your membership application; no login needed.", (
        "certcli member status --id-number 110108198511120038 --name 赵六",
        'certcli member status --id-number 110108198511120038 --name 赵六 \\\n'
        '    --approval-no "京注协〔2021〕15号" --password-file initial-password.txt')),
    "member info": ("会员信息", "Your membership: reviews, photo, details, inspections, transfers.", (
        "certcli member info",)),
    "member photo": ("选择照片", "Choose the photo printed on your member certificate.", (
        "certcli member photo --use exam",)),
    "member confirm": ("确认个人信息", "Confirm or complete your personal details before download.", (
        "certcli member confirm --email zhao@example.cn --yes",)),
    "member download": ("下载会员证", "Save your signed member certificate PDF.", (
        "certcli member download -o member.pdf --reveal mobile",)),
    "paper": ("纸质证书", "Paper certificates: request collection, follow the request.", (
        "certcli paper request 2022ECO110100001 --method onsite",)),
    "paper request": ("申请领取纸质证书", "Request your paper certificate, on site or by mail.", (
        "certcli paper request 2022ECO110100001 --method onsite",
        'certcli paper request 2022ECO110100001 --method mail \\\n    --address "北京市西城区…"')),
    "paper status": ("领取进度", "Your paper certificate requests and where each stands.", (
        "certcli paper status",)),
    "help": ("帮助", "Help topics beyond --help: the FAQ.", ("certcli help faq quota",)),
    "help faq": ("常见问题", "Answers to the common questions about electronic certificates.", (
        "certcli help faq", "certcli help faq quota")),
    "admin": ("发证机构管理", "Administrator commands: keys, rosters, revocation, processing, reports.", (
        "certcli admin init", "certcli admin issue roster.csv")),
    "admin init": ("初始化", "Create the store, the issuer root CA and the ministry seal key.", (
        "certcli admin init",)),
    "admin issue": ("导入证书名单", "Import a roster of certificates (CSV, Excel, JSON Lines).", (
        "certcli admin issue roster.csv --dry-run",
        "certcli admin issue roster.xlsx --sheet 名单 --rejects rejects.csv")),
    "admin revoke": ("撤销证书", "Revoke a certificate.", (
        'certcli admin revoke 2022ECO110100001 --reason "obtained by fraud"',)),
    "admin process": ("处理加注申请", "Render and sign the pending requests.", ("certcli admin process",)),
    "admin stats": ("统计", "Certificates, pending requests, and key warnings.", ("certcli admin stats",)),
    "admin pending": ("待处理申请", "Pending requests, oldest first; overdue after 24 hours.", (
        "certcli admin pending", "certcli admin pending --overdue")),
    "admin export": ("导出证书", "Export the certificates as CSV or JSON Lines.", (
        "certcli admin export -o certificates.csv",
        "certcli admin export --format jsonl -o certificates.jsonl")),
    "admin trust": ("信任包", "Sign and print the public trust bundle.", ("certcli admin trust -o trust.pem",)),
    "admin terms": ("发布服务须知", "Publish a new version of the service terms.", (
        "certcli admin terms --zh terms-zh.txt --en terms-en.txt",)),
    "admin rotate-seal": ("更换印章密钥", "Give a seal a new signing key.", ("certcli admin rotate-seal ministry",)),
    "admin retire-seal": ("注销印章密钥", "Retire a compromised seal key.", (
        "certcli admin retire-seal 0123456789abcdef \\\n    --compromised-at 2026-03-01T00:00:00+08:00",)),
    "admin account": ("持证人员账户", "Holder accounts: look at one, reset it to settle a dispute.", (
        "certcli admin account show 110101199003074477",)),
    "admin account show": ("查看账户", "The account registered with an ID document.", (
        "certcli admin account show 110101199003074477",
        "certcli admin account show E12345678 --id-type passport")),
    "admin account reset": ("重置账户", "Reset an account so that its holder can register again.", (
        'certcli admin account reset 110101199003074477 --reason "ID document checked on site"',)),
    "admin audit": ("审计日志", "The tamper-evident audit log.", ("certcli admin audit verify",)),
    "admin audit verify": ("校验审计日志", "Recompute the chain; exit 1 if an entry was changed.", (
        "certcli admin audit verify",)),
    "admin audit export": ("导出审计日志", "Every entry as JSON Lines, for auditors.", (
        "certcli admin audit export -o audit.jsonl",)),
    "admin audit head": ("审计日志末条", "The newest entry's number and hash, to keep as a witness.", (
        "certcli admin audit head",)),
    "admin member": ("会员管理", "Membership applications: reviews, photos, inspections, transfers.", (
        "certcli admin member list --progress awaiting_local",)),
    "admin member review": ("入会审核", "Review an application: the local association, then the national one.", (
        "certcli admin member review 2021CPA110000001 --stage local --approve",
        'certcli admin member review 2021CPA110000001 --stage national --reject \\\n'
        '    --reason "材料不全"')),
    "admin member list": ("入会申请列表", "Membership applications and their review progress.", (
        "certcli admin member list", "certcli admin member list --progress awaiting_national")),
    "admin member photo": ("上传核验照片", "Upload a photo checked on site (passed before 2010).", (
        "certcli admin member photo 2008CPA310000002 photo.jpg",)),
    "admin member inspect": ("年检", "Record an annual inspection result.", (
        "certcli admin member inspect 2021CPA110000001 --year 2025 --passed",)),
    "admin member transfer": ("转会", "Record a member's move to another local association.", (
        "certcli admin member transfer 2021CPA110000001 --to 上海",)),
    "admin member reset-password": ("重置会员密码", "Invalidate a member's password.", (
        "certcli admin member reset-password 2021CPA110000001",)),
    "admin paper": ("纸质证书领取", "Paper certificate collection requests: list them, move them on.", (
        "certcli admin paper list --status requested",)),
    "admin paper list": ("领取申请列表", "Paper collection requests, oldest first.", (
        "certcli admin paper list", "certcli admin paper list --status ready")),
    "admin paper ready": ("可领取", "The paper certificate is ready to collect or to send.", (
        "certcli admin paper ready PR20260301000001",)),
    "admin paper handed-over": ("已现场领取", "The holder (or a proxy) collected it on site.", (
        "certcli admin paper handed-over PR20260301000001",)),
    "admin paper mailed": ("已邮寄", "The paper certificate was sent by courier.", (
        "certcli admin paper mailed PR20260301000001 --tracking SF1234567890",)),
    "admin region": ("地区发证政策", "Regional policy: electronic only, paper only, or both.", (
        "certcli admin region list",)),
    "admin region set": ("设置地区政策", "Set a region's issuance policy.", (
        "certcli admin region set 北京 --mode electronic --since 2021-02-01",)),
    "admin region list": ("地区政策列表", "Every regional policy.", ("certcli admin region list",)),
}


def _value(value):
    """A typer setting's value (typer keeps unset ones as DefaultPlaceholder)."""
    return getattr(value, "value", value)


def _examples(examples: tuple[str, ...]) -> str:
    # \b: click keeps the lines of this paragraph as they are
    lines = [line for example in examples for line in example.splitlines()]  # "… \\" goes on below
    return "\b\nExamples (示例):\n" + "\n".join(f"  {line}" for line in lines)


def _long_help(path: str, text: str | None) -> str:
    zh, _summary, _examples_ = HELP[path]
    name = path.rpartition(" ")[2] or "certcli"
    head = f"{zh} / {name}"
    return f"{head}\n\n{inspect.cleandoc(text)}" if text else head


def decorate(app) -> None:
    """Give every command and group of ``app`` its Chinese term, summary and examples."""
    zh, _, examples = HELP[""]
    app.info.epilog = _examples(examples)
    _decorate(app, "")
    _wrap_by_display_width()


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


def _decorate(typer_app, prefix: str) -> None:
    for command in typer_app.registered_commands:
        path = f"{prefix}{command.name}"
        if path not in HELP:
            continue          # tests/test_usability.py names it
        zh, summary, examples = HELP[path]
        command.help = _long_help(path, _value(command.help) or inspect.getdoc(command.callback))
        command.short_help = f"{zh} / {summary}"
        command.epilog = _examples(examples)
    for group in typer_app.registered_groups:
        path = f"{prefix}{group.name}"
        if path in HELP:
            zh, summary, examples = HELP[path]
            group.help = _long_help(path, _value(group.help) or _value(group.typer_instance.info.help))
            group.short_help = f"{zh} / {summary}"
            group.epilog = _examples(examples)
        _decorate(group.typer_instance, path + " ")
