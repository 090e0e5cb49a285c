"""Deterministic synthetic rosters: valid rows, Chinese names and qualifications.

Row ``i`` belongs to holder ``i // CERTS_PER_HOLDER``; every holder has the same
name and resident ID on all of their rows, so a registered holder sees several
certificates.  A holder's first certificate always carries the ministry seal
(it needs an annotation); the others may be association certificates.
"""
from __future__ import annotations

import csv
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

from bench.common import NOW_ISO

HEADER = ("certificate_no", "name", "id_type", "id_number", "qualification", "level", "specialty",
          "issued_on", "issuer", "seal")
CERTS_PER_HOLDER = 3
MINISTRY_ISSUER = "人力资源和社会保障部"

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国志红玉梅文斌宇浩然子轩欣怡梓涵一诺晨曦雨桐思远嘉琪俊凯佳慧"
REGION_CODES = ("110101", "310104", "440305", "330106", "510107", "420106", "450103", "610113")
BIRTH_EPOCH = date(1960, 1, 1)
BIRTH_SPAN_DAYS = 15_000   # ~41 years of birth dates

# (qualification, code for the certificate number, levels, specialties)
MINISTRY = (
    ("经济专业技术资格", "ECO", ("初级", "中级", "高级"), ("人力资源管理", "金融", "财政税收", "")),
    ("造价工程师", "CST", ("一级", "二级"), ("土木建筑工程", "安装工程", "")),
    ("建造师", "CON", ("一级", "二级"), ("建筑工程", "市政公用工程", "机电工程")),
    ("注册安全工程师", "SAF", ("中级",), ("化工安全", "建筑施工安全", "")),
    ("审计专业技术资格", "AUD", ("初级", "中级"), ("",)),
    ("社会工作者职业资格", "SOC", ("初级", "中级", "高级"), ("",)),
    ("翻译专业资格", "TRA", ("三级", "二级", "一级"), ("英语笔译", "日语口译", "")),
    ("监理工程师", "SUP", ("",), ("交通运输工程", "水利工程", "")),
)
# (qualification, code, issuer) — association seals
ASSOCIATION = (
    ("税务师", "TAX", "中国注册税务师协会"),
    ("拍卖师", "AUC", "中国拍卖行业协会"),
    ("银行业专业人员职业资格", "BNK", "中国银行业协会"),
)


@lru_cache(maxsize=16)
def person(k: int) -> tuple[str, str]:
    """Holder ``k``: (name, 18-character resident ID with a valid check character)."""
    from certcli.rules import resident_id_check_char

    name = SURNAMES[k % len(SURNAMES)] + GIVEN[(k // 7) % len(GIVEN)]
    if k % 3:
        name += GIVEN[(k // 11 + 5) % len(GIVEN)]
    birth = BIRTH_EPOCH + timedelta(days=k % BIRTH_SPAN_DAYS)
    serial = (k // BIRTH_SPAN_DAYS) % 1000
    region = REGION_CODES[(k // (BIRTH_SPAN_DAYS * 1000)) % len(REGION_CODES)]
    first17 = f"{region}{birth:%Y%m%d}{serial:03d}"
    return name, first17 + resident_id_check_char(first17)


def row(i: int, *, holder: int | None = None) -> tuple[str, ...]:
    """Roster row ``i`` (strings, in HEADER order).  ``holder`` pins every row to one
    holder and to ministry-sealed qualifications (all need an annotation)."""
    k = i // CERTS_PER_HOLDER if holder is None else holder
    slot = 0 if holder is not None else i % CERTS_PER_HOLDER
    name, id_number = person(k)
    issued = date(2016, 1, 4) + timedelta(days=(i * 37) % 3650)
    if slot == 0 or i % 4:
        qualification, code, levels, specialties = MINISTRY[(i // CERTS_PER_HOLDER + slot) % len(MINISTRY)]
        level, specialty = levels[i % len(levels)], specialties[i % len(specialties)]
        issuer, seal = MINISTRY_ISSUER, "ministry"
    else:
        qualification, code, issuer = ASSOCIATION[i % len(ASSOCIATION)]
        level, specialty, seal = "", "", "association"
    number = f"{issued.year}{code}{i:010d}"
    return (number, name, "resident_id", id_number, qualification, level, specialty,
            issued.isoformat(), issuer, seal)


def write_roster(path: Path, count: int, *, holder: int | None = None) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(row(i, holder=holder) for i in range(count))
    return path


def write_workbook(path: Path, count: int) -> Path:
    """The same rows as :func:`write_roster` in an Excel workbook (one sheet), as an office keeps
    one: the issue date a date cell, every other cell text (IDs stored as text, as they must be)."""
    import openpyxl  # imported here: only the .xlsx import figures write a workbook

    book = openpyxl.Workbook(write_only=True)  # streams rows to disk: 1M rows need no sheet in memory
    sheet = book.create_sheet("roster")
    sheet.append(HEADER)
    at = HEADER.index("issued_on")
    for i in range(count):
        values = list(row(i))
        values[at] = date.fromisoformat(values[at])
        sheet.append(values)
    book.save(path)
    return path


def holder_of_rows(count: int) -> int:
    """A holder in the middle of a roster of ``count`` rows."""
    return (count // CERTS_PER_HOLDER) // 2


def certificate_numbers(k: int) -> list[str]:
    """The certificate numbers of holder ``k`` in a roster generated without ``holder``;
    the first one is ministry-sealed."""
    return [row(i)[0] for i in range(k * CERTS_PER_HOLDER, (k + 1) * CERTS_PER_HOLDER)]


# Columns of certcli's certificates table that an import fills, in this order.
INSERT_COLUMNS = ("certificate_no", "name", "id_type", "id_number", "qualification", "level", "specialty",
                  "issued_on", "issuer", "seal", "seal_id", "region", "approval_no", "photo", "imported_at")


def insert_tuple(values: tuple[str, ...]) -> tuple:
    """A roster row as the already-parsed tuple the raw sqlite3 baseline inserts
    (the same values certcli's import stores for it)."""
    from certcli.roster.parse import seal_id_for

    number, name, id_type, id_number, qualification, level, specialty, issued_on, issuer, seal = values
    return (number, name, id_type, id_number, qualification, level, specialty or None, issued_on, issuer,
            seal, seal_id_for(seal, issuer), None, None, None, NOW_ISO)
