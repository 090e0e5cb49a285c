"""Exports for administrators and auditors."""
from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from certcli import rules
from certcli.home import open_user_file
from certcli.store import Store, iterate

EXPORT_COLUMNS = ("certificate_no", "name", "id_type", "id_number", "qualification", "level", "specialty",
                  "issued_on", "issuer", "seal", "region", "approval_no", "status", "revoked_at", "revoke_reason")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def neutralise_cell(value):
    """A cell a spreadsheet would evaluate (=cmd|..., +, -, @) is prefixed with a quote (OWASP)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def export_certificates(store: Store, output: Path | None, *, fmt: str = "csv", full_id: bool = False) -> int:
    handle = open_user_file(output, "w", newline="", encoding="utf-8-sig" if fmt == "csv" else "utf-8") \
        if output is not None else sys.stdout
    count = 0
    try:
        writer = csv.writer(handle) if fmt == "csv" else None
        if writer:
            writer.writerow(EXPORT_COLUMNS)
        cursor = iterate(store.conn, f"SELECT {', '.join(EXPORT_COLUMNS)} FROM certificates ORDER BY id")
        for row in cursor:
            record = dict(zip(EXPORT_COLUMNS, row))
            if not full_id:
                record["id_number"] = rules.mask_id_number(record["id_number"])
            if writer:
                writer.writerow([neutralise_cell(record[c]) for c in EXPORT_COLUMNS])
            else:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    finally:
        if output is not None:
            handle.close()
    return count
