"""Roster import on PostgreSQL (COPY into a staging table, one set-based insert:
certcli.certificates.copy_import) has the same outcome as on SQLite: the same stored rows
(ids included), the same counts, the same rejects with the same line numbers, the same
output; re-running a roster adds nothing.  Both backends in every run, whatever
CERTCLI_TEST_BACKEND says: these tests compare them."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from conftest import NOW, PASSPHRASE, ROOT, cert_row, write_roster

OTHER_ID = "11010519491231002X"
BACKENDS = ("sqlite", "postgres")


def url_for(backend: str) -> str:
    if backend == "sqlite":
        return ""
    import postgres

    return postgres.database_url()


def first_roster(path: Path) -> Path:
    rows = [cert_row(no=f"2022ECO1101{i:05d}") for i in range(1, 13)]
    rows += [cert_row(no=f"2023AUD4403{i:05d}", name="李䶮", id_number=OTHER_ID, qualification="审计专业技术资格",
                      level="初级", issued_on="2023-03-01") for i in range(1, 6)]
    return write_roster(path, rows)


def second_roster(path: Path) -> Path:
    """Every case at once: stored (same holder, other holder), new, repeated within the
    roster (same holder, other holder), and rows that fail to parse."""
    stranger = dict(name="李䶮", id_number=OTHER_ID)
    rows = [
        cert_row(no="2022ECO110100001"),                    # line 2: stored, same holder
        cert_row(no="2022ECO110100002", **stranger),        # line 3: stored for another holder
        cert_row(no="2024ECO110100001"),                    # new
        cert_row(no="2024ECO110100002"),                    # new
        cert_row(no="2024ECO110100001"),                    # line 6: repeated, same holder
        cert_row(no="2024ECO110100002", **stranger),        # line 7: repeated, another holder
        cert_row(no="2024ECO11010000X", id_number="110101199003074478"),   # line 8: bad ID check character
        cert_row(no="2024ECO110100003", issued_on="2024-13-45"),          # line 9: bad date
        *[cert_row(no=f"2025ECO1101{i:05d}") for i in range(1, 10)],       # all new: whole batches
        cert_row(no="2023AUD440300003", name="李䶮", id_number=OTHER_ID, qualification="审计专业技术资格",
                 level="初级", issued_on="2023-03-01"),    # stored, same holder, last line
        cert_row(no="2023AUD440300004"),                    # stored for another holder, last line
    ]
    return write_roster(path, rows)


def import_and_read(backend: str, tmp_path: Path, batch_size: int) -> dict:
    from certcli.certificates import issuance
    from certcli.store import open_store

    now = datetime.fromisoformat(NOW)
    store = open_store(tmp_path / backend, create=True, database_url=url_for(backend))
    try:
        outcome = {}
        for name, roster in (("first", first_roster(tmp_path / "a.csv")), ("second", second_roster(tmp_path / "b.csv")),
                             ("again", tmp_path / "b.csv")):
            seen = []
            report = issuance.import_roster(store, roster, now=now, batch_size=batch_size, on_reject=seen.append)
            outcome[name] = {
                "counts": (report.rows, report.inserted, report.already_present, report.rejected),
                "rejects": [(e.line, e.reason, e.field, e.certificate_no) for e in report.rejects],
                "on_reject": [(e.line, e.reason) for e in seen],
            }
        outcome["rows"] = store.conn.execute("SELECT * FROM certificates ORDER BY id").fetchall()
        return outcome
    finally:
        store.close()


@pytest.mark.parametrize("batch_size", [4, 5000])
def test_import_on_postgres_equals_import_on_sqlite(tmp_path, batch_size):
    sqlite = import_and_read("sqlite", tmp_path, batch_size)
    postgres = import_and_read("postgres", tmp_path, batch_size)
    assert postgres == sqlite
    second = sqlite["second"]
    assert second["counts"] == (19, 11, 3, 5)
    assert [line for line, *_ in second["rejects"]] == [3, 7, 8, 9, 20]
    assert {reason for _, reason, *_ in second["rejects"]} >= {"conflicting_certificate_no"}
    again = sqlite["again"]
    assert again["counts"][1] == 0                             # a re-run adds nothing
    assert again["rejects"] == second["rejects"]
    assert len(sqlite["rows"]) == 17 + 11


def certcli_json(home: Path, url: str, *args) -> tuple[int, str, str]:
    env = dict(os.environ, CERTCLI_HOME=str(home), CERTCLI_NOW=NOW, CERTCLI_KEY_PASSPHRASE=PASSPHRASE,
               CERTCLI_DATABASE_URL=url, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-m", "certcli", *map(str, args)], env=env, capture_output=True,
                            text=True, timeout=300)
    return result.returncode, result.stdout, result.stderr


@pytest.mark.slow  # ~5 s: CI runs it in the slow pass
def test_admin_issue_prints_the_same_on_both_backends(tmp_path):
    """The whole command: the same exit code, JSON document, human text and --rejects file."""
    roster_a, roster_b = first_roster(tmp_path / "a.csv"), second_roster(tmp_path / "b.csv")
    seen = {}
    for backend in BACKENDS:
        home, url = tmp_path / backend, url_for(backend)
        assert certcli_json(home, url, "admin", "init")[0] == 0
        outputs = [certcli_json(home, url, "--json", "admin", "issue", roster_a)]
        outputs.append(certcli_json(home, url, "--json", "admin", "issue", roster_b,
                                    "--rejects", tmp_path / f"rejects-{backend}.csv"))
        outputs.append(certcli_json(home, url, "--lang", "en", "admin", "issue", roster_b))
        seen[backend] = [(code, out) for code, out, _ in outputs] + [
            (tmp_path / f"rejects-{backend}.csv").read_text(encoding="utf-8-sig")]
    assert seen["postgres"] == seen["sqlite"]
    code, out = seen["sqlite"][1]
    assert code == 6 and json.loads(out)["rejected"] == 5
