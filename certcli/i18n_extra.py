"""Messages of the membership, regional-policy, paper-collection and scope/FAQ
commands, in the shape of :data:`certcli.i18n.MESSAGES`: key -> (zh, en)."""
from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    # errors
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
}


def install() -> None:
    """Make these messages visible to :func:`certcli.i18n.t` (entries already there win)."""
    from certcli import i18n

    for key, pair in MESSAGES.items():
        i18n.MESSAGES.setdefault(key, pair)
