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
    "bad_credentials.approval_no": ("证件号码、姓名与批准文号不匹配。",
                                    "The ID number, name and approval number do not match."),
    "account_locked": ("密码错误次数过多，账户已锁定至 {until}。", "Too many wrong passwords; the account is locked until {until}."),
    "terms_not_accepted": ("请先阅读并同意服务须知（第 {current_version} 版）：certcli agree",
                           "Please read and accept the service terms (version {current_version}) first: certcli agree"),
    "wrong_passphrase": ("签发密钥口令错误。", "Wrong key passphrase."),
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
    # membership, regional policy, paper collection, scope and FAQ (SPEC §3)
    "member_login_required": ("请用会员证书编号登录：certcli login --cert-number 证书编号",
                              "Log in with your member certificate number: certcli login --cert-number N"),
    "review_out_of_order": ("须先由地方注协初核（{required_stage}）通过，再由全国协会复核；当前进度：{progress}。",
                            "The {required_stage} review (local association) must approve first; "
                            "progress: {progress}."),
    "review_closed": ("该阶段（{stage}）已不能再审核；当前进度：{progress}。",
                      "The {stage} review can no longer be changed; progress: {progress}."),
    "member_not_approved": ("入会申请尚未通过审核（进度：{progress}）。",
                            "The membership application is not approved yet (progress: {progress})."),
    "password_change_required": (
        "首次登录须修改初始密码：通过 CERTCLI_NEW_PASSWORD 或 --password-stdin 的第二行提供新密码。",
        "Change the initial password at first login: give the new one in CERTCLI_NEW_PASSWORD or as the "
        "second line of --password-stdin."),
    "password_not_changed": ("新密码不能与初始密码相同。", "The new password must differ from the initial one."),
    "photo_not_allowed": (
        "{exam_pass_year} 年考试通过的会员不能使用考试系统照片（{from_year} 年及以后通过者可用）。"
        "请持本人身份证原件、纸质会员证（或全科合格证）原件及本人证件照（JPG）到地方注协现场核验，"
        "协会上传照片后运行：certcli member photo --use verified",
        "Members who passed in {exam_pass_year} cannot reuse the exam-system photo (only those who passed in "
        "{from_year} or later). Bring your ID card, your paper member certificate (or full-subject pass "
        "certificate) and an ID photo (JPG) to your local association for on-site verification; once they "
        "upload it run: certcli member photo --use verified"),
    "photo_missing": (
        "尚无可用照片（{source}）。已现场核验的照片须由地方注协上传：certcli admin member photo 证书编号 照片.jpg",
        "No {source} photo is available yet. A photo verified on site is uploaded by your local association: "
        "certcli admin member photo CERT_NO PHOTO.jpg"),
    "photo_not_chosen": ("下载前请先选择会员证照片：certcli member photo --use exam|verified",
                         "Choose the photo for your member certificate before downloading: "
                         "certcli member photo --use exam|verified"),
    "details_not_confirmed": ("下载前请先确认或补充个人信息：certcli member confirm",
                              "Confirm or complete your personal details before downloading: certcli member confirm"),
    "details_incomplete": ("个人信息不完整，请补充：{missing}（例如 --mobile 13800138000 --email a@b.cn）",
                           "Personal details are incomplete; add: {missing} "
                           "(e.g. --mobile 13800138000 --email a@b.cn)"),
    "document_pending": ("证书生成中…系统将在 24 小时内完成，届时再次运行 certcli member download。",
                         "Generating the certificate… it is completed within 24 hours; run certcli member download "
                         "again then."),
    "electronic_not_issued": (
        "{region}（自 {since} 起）只发放纸质证书，不提供电子证书下载。请领取纸质证书："
        "certcli paper request {certificate_no} --method onsite|mail",
        "{region} issues paper certificates only (since {since}): there is no electronic certificate to download. "
        "Collect the paper one: certcli paper request {certificate_no} --method onsite|mail"),
    "paper_not_issued": (
        "{region}（自 {since} 起）已不再发放纸质证书；电子证书与纸质证书具有同等法律效力，请下载电子证书：certcli download {certificate_no}",
        "Paper certificates are no longer issued in {region} (since {since}); the electronic certificate has the "
        "same legal effect: certcli download {certificate_no}"),
    "paper_member_not_issued": (
        "自 2021年1月1日 起不再发放纸质会员证书；2021年之前的纸质会员证自 2025年12月31日 起失效。请下载电子会员证：certcli member download",
        "Paper member certificates are not issued since 2021-01-01, and those issued before lose validity on "
        "2025-12-31. Download the electronic member certificate: certcli member download"),
    "paper_collection_not_open": ("纸质证书领取自 {opens_on} 起开放，请届时再申请。",
                                  "Paper certificate collection opens on {opens_on}; apply then."),
    "paper_request_exists": ("该证书已有纸质证书领取申请 {request_no}（{status}）。",
                             "This certificate already has a paper collection request {request_no} ({status})."),
    "paper_request_state": ("申请状态为 {status}，不能执行 {action}（领取方式 {method}）。",
                            "The request is {status}: {action} is not possible (method {method})."),
    "bad_photo": ("照片无效：{reason} {detail}", "Invalid photo: {reason} {detail}"),
    # UI
    "member_reviewed": ("{certificate_no}：{stage} 审核{decision}；进度：{progress}。",
                        "{certificate_no}: {stage} review {decision}; progress: {progress}."),
    "member_progress": ("入会审核进度：地方注协初核 {local}，中注协复核 {national}。",
                        "Review progress: local association {local}, national association {national}."),
    "member_credentials": ("证书编号：{certificate_no}\n初始密码：{initial_password}\n"
                           "首次登录须修改密码：certcli login --cert-number {certificate_no}",
                           "Certificate number: {certificate_no}\nInitial password: {initial_password}\n"
                           "Change it at first login: certcli login --cert-number {certificate_no}"),
    "member_credentials_file": ("证书编号：{certificate_no}；初始密码已写入 {path}（仅本人可读）。首次登录须修改密码。",
                                "Certificate number: {certificate_no}; the initial password was written to {path} "
                                "(readable by you only). Change it at first login."),
    "member_password_issued": ("证书编号：{certificate_no}；初始密码已于 {revealed_at} 发放。如未收到或已遗失，请联系协会重置。",
                               "Certificate number: {certificate_no}; the initial password was issued on "
                               "{revealed_at}. "
                               "If you lost it, ask your association to reset it."),
    "member_password_set": ("证书编号：{certificate_no}；密码已设置，请登录：certcli login --cert-number {certificate_no}",
                            "Certificate number: {certificate_no}; your password is set: certcli login --cert-number "
                            "{certificate_no}"),
    "member_give_approval_no": ("审核已通过。请用入会批准文件号获取证书编号和初始密码：--approval-no 批准文号",
                                "Approved. Give your approval document number to get the certificate number and "
                                "initial password: --approval-no NO"),
    "member_none": ("未查询到入会申请。", "No membership application found."),
    "password_changed": ("密码已修改，登录成功，欢迎 {name}。", "Password changed; logged in. Welcome, {name}."),
    "photo_chosen": ("会员证照片：{source}。", "Member certificate photo: {source}."),
    "photo_uploaded": ("{certificate_no}：已上传现场核验照片（{width}×{height}）。",
                       "{certificate_no}: verified photo uploaded ({width}×{height})."),
    "details_confirm": ("以上个人信息是否正确？", "Are these personal details correct?"),
    "details_confirmed": ("个人信息已确认。", "Personal details confirmed."),
    "details_declined": ("未确认个人信息。", "Personal details not confirmed."),
    "inspection_recorded": ("{certificate_no}：{year} 年度年检{result}。", "{certificate_no}: {year} inspection {result}."),
    "inspection_overdue": ("未查询到上一年度年检通过记录。", "No passed inspection for last year."),
    "transfer_recorded": ("{certificate_no}：转会 {from_region} → {to_region}（{on}）。",
                          "{certificate_no}: transferred {from_region} → {to_region} ({on})."),
    "password_reset": ("{certificate_no}：初始密码已重置，会员可通过 certcli member status 重新获取。",
                       "{certificate_no}: initial password reset; the member obtains a new one with "
                       "certcli member status."),
    "region_set": ("{region}：{mode}（自 {since} 起），纸质证书于成绩公布 {months} 个月后可领取。",
                   "{region}: {mode} (since {since}); paper certificates can be collected {months} months after "
                   "results."),
    "region_set_always": ("{region}：{mode}，纸质证书于成绩公布 {months} 个月后可领取。",
                          "{region}: {mode}; paper certificates can be collected {months} months after results."),
    "paper_requested": ("已提交纸质证书领取申请 {request_no}（{method}）。请准备：",
                        "Paper certificate request {request_no} ({method}) recorded. Prepare:"),
    "paper_moved": ("{request_no}：{status}", "{request_no}: {status}"),
    "paper_none": ("暂无纸质证书领取申请。", "No paper certificate requests."),
    "review_pending": ("待审核", "pending"),
    "review_approved": ("通过", "approved"),
    "review_rejected": ("未通过", "rejected"),
    "progress_awaiting_local": ("等待地方注协初核", "awaiting the local association's review"),
    "progress_awaiting_national": ("等待中注协复核", "awaiting the national association's review"),
    "progress_rejected_local": ("地方注协初核未通过", "rejected by the local association"),
    "progress_rejected_national": ("中注协复核未通过", "rejected by the national association"),
    "progress_approved": ("审核通过", "approved"),
    "member_password_available": ("初始密码可领取：请在终端运行（不加 --json），或用 --password-file 文件 写入文件。",
                                  "The initial password is ready: run without --json on a terminal, or write it to a "
                                  "file with --password-file FILE."),
    "mode_electronic": ("仅发放电子证书", "electronic only"),
    "mode_paper": ("仅发放纸质证书", "paper only"),
    "mode_both": ("电子证书和纸质证书", "electronic and paper"),
    "method_onsite": ("现场领取", "on site"),
    "method_mail": ("邮寄", "by mail"),
    "method_onsite_proxy": ("现场领取（委托他人代领）", "on site, by a proxy"),
    "paper_status_requested": ("已申请", "requested"),
    "paper_status_ready": ("证书已备好", "ready"),
    "paper_status_handed_over": ("已领取", "handed over"),
    "paper_status_mailed": ("已寄出", "mailed"),
    "inspection_passed": ("通过", "passed"),
    "inspection_failed": ("未通过", "failed"),
    "paper_state_none": ("无（2021年起仅发放电子会员证）", "none (electronic only since 2021)"),
    "paper_state_valid": ("有效，至 2025-12-30；2025-12-31 起失效", "valid until 2025-12-30; invalid from 2025-12-31"),
    "paper_state_invalid": ("自 2025-12-31 起失效，请使用电子会员证", "invalid since 2025-12-31: use the electronic one"),
    "photo_source_exam": ("考试系统照片", "exam-system photo"),
    "photo_source_verified": ("现场核验照片", "photo verified on site"),
    "detail_birth_date": ("出生日期", "Birth date"),
    "detail_mobile": ("移动电话", "Mobile"),
    "detail_email": ("电子邮件", "Email"),
    "faq_unknown_topic": ("没有该主题：{topic}。可用：{known}", "No such topic: {topic}. Topics: {known}"),
    # admin rotate-seal / retire-seal
    "seal_rotated_notice": ("印章 {seal_id} 已更换密钥：新密钥 {new_key_id}（旧密钥 {old_key_id} 签署的文件在各自有效期内仍然有效）。"
                "请重新导出信任包：certcli admin trust -o trust.pem",
                "Seal {seal_id} rotated: new key {new_key_id} (documents signed with {old_key_id} stay valid until "
                "their own windows end). Export the new trust bundle: certcli admin trust -o trust.pem"),
    "seal_retired_notice": ("密钥 {key_id}（印章 {seal_id}）已注销：{retired_at} 及以后由它签署的文件一律无效。{rotated}"
                "请重新导出信任包：certcli admin trust -o trust.pem",
                "Key {key_id} (seal {seal_id}) retired: everything it signed at or after {retired_at} is NOT valid. "
                "{rotated}Export the new trust bundle: certcli admin trust -o trust.pem"),
    "seal_requeued_notice": ("{count} 份由该密钥在泄露后签署的文件已重新排队：请运行 certcli admin process 用新密钥重新签署。",
                 "{count} documents this key signed after the compromise are queued again: run certcli admin "
                 "process to sign them with the new key."),
    "seal_also_rotated_notice": ("该印章已启用新密钥 {new_key_id}。", "The seal now signs with the new key {new_key_id}. "),
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
    # "code.what" refines a message where one code covers several inputs
    # (bad_credentials for a password or for a membership approval number)
    pair = MESSAGES.get(f"{key}.{data['what']}") if "what" in data else None
    pair = pair or MESSAGES.get(key)
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
