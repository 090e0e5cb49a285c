"""The one catalog of user-facing messages, in Chinese and English.

Holders are Chinese users: ``zh`` is the default under a zh_* locale.  Keys are
the stable error codes of SPEC §4 plus UI strings; values are ``str.format``
templates filled from an error's data.
"""
from __future__ import annotations

import os

LANGS = ("zh", "en")

MESSAGES: dict[str, tuple[str, str]] = {
    # errors: (zh, en)
    "not_logged_in": ("请先登录：certcli login --id-number 证件号码", "Please log in first: certcli login --id-number ID"),
    "bad_credentials": ("证件号码或密码错误。", "Wrong ID number or password."),
    "account_locked": ("密码错误次数过多，账户已锁定至 {until}。", "Too many wrong passwords; the account is locked until {until}."),
    "terms_not_accepted": ("请先阅读并同意服务须知（第 {current_version} 版）：certcli agree",
                           "Please read and accept the service terms (version {current_version}) first: certcli agree"),
    "wrong_passphrase": ("签发密钥口令错误。", "Wrong key passphrase."),
    "password_change_required": ("首次登录须修改初始密码。", "Change the initial password at first login."),
    "already_registered": ("该证件已注册，请直接登录。", "This ID document is already registered; log in instead."),
    "certificate_revoked": ("证书 {certificate_no} 已被撤销，不能加注、下载或验证为有效。",
                            "Certificate {certificate_no} has been revoked: it cannot be annotated, downloaded or verified as valid."),
    "quota_exceeded": ("自申请当日起向前计算 90 日内该证书已有 3 次有效加注；{first_accepted_day} 起可再次申请。",
                       "This certificate already has 3 annotations in the 90 days up to today; a new application will be accepted from {first_accepted_day}."),
    "validity_out_of_range": ("加注有效期须为 {min}–{max} 天（建议 90 天），收到 {days}。",
                              "The annotation must last {min}–{max} days (90 recommended); got {days}."),
    "unknown_scenario": ("不支持的使用场景“{scenario}”；可用：{known}。", "Unknown usage scenario '{scenario}'; available: {known}."),
    "annotation_pending": ("证书生成中…系统将在 24 小时内完成，请耐心等待。",
                           "Generating the certificate… it will be completed within 24 hours."),
    "annotation_required": ("该证书尚未加注，请先申请加注：certcli annotate {certificate_no}",
                            "Apply for an annotation first: certcli annotate {certificate_no}"),
    "annotation_expired": ("加注件已过期，请重新申请加注：certcli renew {certificate_no}",
                           "The annotation has expired; apply again: certcli renew {certificate_no}"),
    "annotation_not_needed": ("该证书为 2021年12月17日前由行业协会等机构制发，无须加注，可直接下载。",
                              "This certificate was issued by an association before 2021-12-17: no annotation is needed, download it directly."),
    "weak_password": ("密码至少 {min_length} 位。", "The password must have at least {min_length} characters."),
    "not_found": ("未找到。", "Not found."),
    "invalid_id_number": ("证件号码无效（{reason}）。", "Invalid ID number ({reason})."),
    "bad_roster": ("名单文件无法读取：{reason} {detail}", "The roster cannot be read: {reason} {detail}"),
    "bad_input": ("输入无效：{field}", "Invalid input: {field}"),
    "unsupported_character": ("字体不含字符 {codepoint}（{field}）。", "No bundled font has the character {codepoint} ({field})."),
    "bad_time": ("无法识别的时间：{value}（应为 ISO 8601）。", "Unrecognised time {value} (expected ISO 8601)."),
    "store_corrupt": ("数据文件损坏或不是 certcli 数据库：{path}", "The store is damaged or not a certcli store: {path}"),
    "store_missing": ("尚未初始化：请先运行 certcli admin init（数据目录 {path}）。",
                      "No store here yet: run certcli admin init first (store {path})."),
    "store_unwritable": ("无法写入数据目录：{reason}", "Cannot write to the store: {reason}"),
    "file_error": ("无法读写文件 {path}：{reason}", "Cannot read or write {path}: {reason}"),
    "key_problem": ("签发密钥问题：{reason}", "Signing key problem: {reason}"),
    "not_a_certcli_qr": ("这不是 certcli 证书二维码。", "This is not a certcli certificate QR code."),
    "qr_signature_invalid": ("二维码签名无效：内容被篡改或伪造。", "The QR signature is invalid: altered or forged."),
    "unknown_signing_key": ("二维码由未知密钥签名。", "The QR code was signed by an unknown key."),
    "usage_error": ("用法错误：{detail}", "Usage error: {detail}"),
    "passphrase_required": ("需要签发密钥口令：设置 CERTCLI_KEY_PASSPHRASE 或使用 --passphrase-stdin。",
                            "The key passphrase is needed: set CERTCLI_KEY_PASSPHRASE or use --passphrase-stdin."),
    "password_required": ("需要密码：设置 CERTCLI_PASSWORD 或使用 --password-stdin。",
                          "A password is needed: set CERTCLI_PASSWORD or use --password-stdin."),
    "internal_error": ("内部错误（{kind}）。数据未被修改。", "Internal error ({kind}). Nothing was changed."),
    # UI strings
    "registered": ("注册成功：{name}。请登录：certcli login --id-number {id_number_masked}",
                   "Registered {name}. Log in: certcli login --id-number ..."),
    "logged_in": ("登录成功，欢迎 {name}。", "Logged in. Welcome, {name}."),
    "logged_out": ("已退出登录。", "Logged out."),
    "terms_accepted": ("已同意服务须知（第 {version} 版）。", "Service terms accepted (version {version})."),
    "terms_confirm": ("是否同意以上服务须知？", "Do you accept these terms?"),
    "terms_declined": ("未同意服务须知；证书功能不可用。", "Terms not accepted; certificate commands stay unavailable."),
    "empty_list": (
        "未查询到证书信息。可能原因：\n"
        "（1）未取得证书；\n"
        "（2）已取得证书，但证书信息暂未上线：2016年度以前的既往证书数据正在陆续上线，2017年度以后的证书请联系证书发放机构；\n"
        "（3）取得的证书不属于证书查询验证范围（certcli scope）；\n"
        "（4）通过人事考试机构更正过姓名或证件号码：须使用更正后正确的姓名和证件号码重新注册。",
        "No certificates found. Possible reasons:\n"
        "(1) you have not obtained a certificate;\n"
        "(2) your certificate is not online yet: data before 2016 is still being loaded; for 2017 and later contact the issuer;\n"
        "(3) your certificate is outside the verification scope (certcli scope);\n"
        "(4) your name or ID number was corrected by the exam authority: register again with the corrected details."),
    "annotation_applied": ("加注申请已提交（{annotation_no}），系统将在 24 小时内完成；有效期至 {valid_until}。",
                           "Annotation {annotation_no} submitted; it completes within 24 hours; valid until {valid_until}."),
    "revoked": ("证书 {certificate_no} 已撤销。", "Certificate {certificate_no} revoked."),
    "initialised": ("已初始化：{home}", "Initialised {home}"),
    "downloaded": ("已保存：{path}", "Saved {path}"),
    "processed": ("已完成 {completed} 条，失败 {failed} 条。", "{completed} completed, {failed} failed."),
    "state_none": ("未加注", "not annotated"),
    "state_pending": ("证书生成中…", "generating…"),
    "state_active": ("有效期至 {valid_until}", "active until {valid_until}"),
    "state_expired": ("加注件已过期", "annotation expired"),
    "state_exempt": ("无需加注", "no annotation needed"),
    "status_valid": ("有效", "valid"),
    "status_revoked": ("已撤销", "revoked"),
}


def default_lang(environ=os.environ) -> str:
    for var in ("CERTCLI_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(var)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


class _Blank(dict):
    def __missing__(self, key):
        return ""


def t(key: str, lang: str, **data) -> str:
    pair = MESSAGES.get(key)
    if pair is None:
        return key
    template = pair[0] if lang == "zh" else pair[1]
    shown = _Blank({k: _show(v) for k, v in data.items()})
    return template.format_map(shown)


def _show(value) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(_show(v) for v in value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
