"""The qualifications certcli knows by name (seed 004), with a short code for QR payloads."""
from __future__ import annotations

import hashlib

# 24 qualifications under the ministry seal from 2021-12-17 (those named in the seeds first),
# then the ones that keep their association's seal.
MINISTRY_QUALIFICATIONS = {
    "经济专业技术资格": "ECO", "注册城乡规划师": "URP", "注册测绘师": "SUR", "造价工程师": "CST",
    "建造师": "CON", "勘察设计注册工程师": "DES", "注册验船师": "SHP", "注册安全工程师": "SAF",
    "注册消防工程师": "FIR", "执业药师": "PHA", "社会工作者职业资格": "SOC", "审计专业技术资格": "AUD",
    "统计专业技术资格": "STA", "出版专业技术人员职业资格": "PUB", "翻译专业资格": "TRA",
    "会计专业技术资格": "ACC", "注册核安全工程师": "NUC", "注册计量师": "MET", "监理工程师": "SUP",
    "房地产估价师": "EST", "土地登记代理人": "LND", "环境影响评价工程师": "ENV", "咨询工程师(投资)": "INV",
    "计算机技术与软件专业技术资格": "SFT",
}
ASSOCIATION_QUALIFICATIONS = {
    "拍卖师": "AUC", "税务师": "TAX", "银行业专业人员职业资格": "BNK", "证券期货基金业从业人员资格": "SEC",
    "注册会计师": "CPA", "资产评估师": "VAL", "演出经纪人员资格": "PER",
}
# Membership certificates (seed 003).  Their code is the one qualification_code() always gave
# them (from the name's hash): documents signed before it was listed here keep verifying.
MEMBER_QUALIFICATIONS = {"注册会计师非执业会员": "QABAAB"}
LEVEL_CODES = {"初级": "J", "中级": "M", "高级": "S", "一级": "1", "二级": "2", "三级": "3"}


def qualification_code(qualification: str) -> str:
    code = MINISTRY_QUALIFICATIONS.get(qualification) or ASSOCIATION_QUALIFICATIONS.get(qualification) \
        or MEMBER_QUALIFICATIONS.get(qualification)
    if code is None:  # an unknown name still gets a stable short code
        code = "Q" + hashlib.sha256(qualification.encode()).hexdigest()[:5].upper()
    return code


def qualification_name(code: str) -> str | None:
    """The name of a known qualification's code (the QR payload carries only the code)."""
    for table in (MINISTRY_QUALIFICATIONS, ASSOCIATION_QUALIFICATIONS, MEMBER_QUALIFICATIONS):
        for name, known in table.items():
            if known == code:
                return name
    return None
