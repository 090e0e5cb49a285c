"""Shared fixtures.

External validators (poppler, qpdf, zbar, pyhanko-cli) are tools we did not
write; tests that need one skip on a developer machine without it, but fail
under CI (CI=true), where a missing tool means a broken install step.
"""
from __future__ import annotations

import os
import shutil

import pytest


def need_tool(name: str) -> str:
    path = shutil.which(name)
    if path:
        return path
    message = f"external tool {name!r} is not installed"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " (required under CI)")
    pytest.skip(message)


import json
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from certcli.cli import app, hoist_global_options

# certcli's exit code for a bug (an unexpected exception, see certcli/commands/_runtime.py):
# odd or hostile input must never produce it.
EXIT_INTERNAL = 70
PASSPHRASE = "test key passphrase"
PASSWORD = "holder-password-1"
NOW = "2026-03-01T10:00:00+08:00"
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Outcome:
    code: int
    out: str
    err: str

    @property
    def json(self):
        return json.loads(self.out)

    @property
    def error_code(self):
        return self.json["error"]["code"]


# --- the store's backend (issue 15) --------------------------------------------------------
# CERTCLI_TEST_BACKEND=postgres runs the store-backed tests on PostgreSQL: every test home gets
# a fresh database of its own (tests/postgres.py), passed as CERTCLI_DATABASE_URL to the
# in-process Cli and to every subprocess run (``backend_env``).  Tests that look into the store
# use ``store_db(home)`` (the same ?-SQL on both backends) instead of sqlite3.connect.
from postgres import selected_backend  # noqa: E402

BACKEND = selected_backend()
_DATABASES: dict[str, str] = {}


def use_database(home, url: str) -> None:
    """Give ``home`` this PostgreSQL database whatever the backend (tests/test_postgres.py);
    ``""``: the home's SQLite file whatever the backend."""
    _DATABASES[os.path.abspath(home)] = url


def database_url_for(home) -> str | None:
    """The PostgreSQL database of a test home (made on first use), or None on SQLite."""
    key = os.path.abspath(home)
    if BACKEND != "postgres" and key not in _DATABASES:
        return None
    if key not in _DATABASES:
        import postgres

        _DATABASES[key] = postgres.database_url()
    return _DATABASES[key]


def backend_env(home) -> dict:
    """The environment a subprocess needs to use ``home``'s store on the selected backend."""
    url = database_url_for(home)
    return {"CERTCLI_DATABASE_URL": url} if url else {}


class _PgTestDb:
    """sqlite3.connect's use in the tests (execute, commit, ``with db:``) over a home's database."""

    dialect = "postgres"   # certcli.schema.dialect_of: the schema's steps run on it as on the store

    def __init__(self, url: str):
        from certcli import pgstore

        self._conn = pgstore.connect(url)

    def execute(self, sql, params=()):
        return self._conn.execute(sql, params)

    def executemany(self, sql, rows):
        return self._conn.executemany(sql, rows)

    def commit(self):
        pass   # autocommit

    def close(self):
        self._conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def store_db(home, **sqlite_options):
    """A connection to ``home``'s store, to look into or tamper with it: sqlite3 on the home's
    file (``sqlite_options`` for sqlite3.connect), or (CERTCLI_TEST_BACKEND=postgres) the
    home's database, autocommit."""
    url = database_url_for(home)
    if url:
        return _PgTestDb(url)
    import sqlite3

    return sqlite3.connect(Path(home) / "certcli.db", **sqlite_options)


def store_rows(home, sql: str, params=()) -> list[dict]:
    """The rows of one query on ``home``'s store (either backend), as dicts column -> value."""
    db = store_db(home)
    try:
        cursor = db.execute(sql, params)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]
    finally:
        db.close()


def store_execute(home, *statements) -> None:
    """Run statements on ``home``'s store (either backend) and commit: each one SQL text or
    ``(sql, params)``, with ? placeholders."""
    db = store_db(home)
    try:
        for statement in statements:
            sql, params = (statement, ()) if isinstance(statement, str) else statement
            db.execute(sql, params)
        db.commit()
    finally:
        db.close()


def copy_home_and_store(source, target) -> Path:
    """A copy of a whole test home, its store included: the folder (keys, session, SQLite
    file) and, on PostgreSQL, its database (CREATE DATABASE ... TEMPLATE: nobody may be
    connected to the source meanwhile), which becomes ``target``'s."""
    shutil.copytree(source, target)
    url = database_url_for(source)
    if url:
        import uuid

        import psycopg

        import postgres

        prefix, _, query = url.partition("?")
        root, name = prefix.rsplit("/", 1)
        copy = f"{name}_c{uuid.uuid4().hex[:6]}"
        with psycopg.connect(postgres.admin_url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{name}"')
        use_database(target, f"{root}/{copy}" + (f"?{query}" if query else ""))
    return Path(target)


def store_of(home, create=False):
    """``open_store`` for a test home on the selected backend."""
    from certcli.store import open_store

    return open_store(Path(home), create=create, database_url=database_url_for(home) or "")


sqlite_only = pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite-specific (see the test's docstring)")
postgres_only = pytest.mark.skipif(BACKEND != "postgres", reason="PostgreSQL-specific")


class Cli:
    """Runs the real certcli app in-process against one home, like a script would."""

    def __init__(self, home: Path):
        self.home = home
        self.now = NOW
        self.runner = CliRunner()

    def __call__(self, *args, input=None, now=None, env=None, json_mode=True, lang="en") -> Outcome:
        argv = [str(a) for a in args]
        argv = hoist_global_options((["--json"] if json_mode else []) + ["--lang", lang] + argv)
        environ = {"CERTCLI_HOME": str(self.home), "CERTCLI_NOW": now or self.now or "",
                   "CERTCLI_KEY_PASSPHRASE": PASSPHRASE, "CERTCLI_PASSWORD": PASSWORD,
                   "CERTCLI_DATABASE_URL": database_url_for(self.home)}   # None: unset (SQLite)
        environ.update(env or {})
        try:
            result = self.runner.invoke(app, argv, input=input, env=environ, catch_exceptions=False)
        finally:   # what ends with a real process ends with the command: the process-wide
            # --database-url (certcli.home) and the runtime's open store connection
            from certcli.commands import _runtime
            from certcli.home import use_database_url

            use_database_url(None)
            if _runtime._RUNTIME is not None:
                _runtime._RUNTIME.close()
        return Outcome(result.exit_code, result.stdout, result.stderr)

    def holder(self, *args, now=None, **kwargs) -> Outcome:
        """Log in at ``now`` first (sessions expire after 8 idle hours), then run the command."""
        login = self("login", "--id-number", HOLDER_ID, now=now)
        assert login.code == 0, login.out
        return self(*args, now=now, **kwargs)


@pytest.fixture
def cli(tmp_path) -> Cli:
    return Cli(tmp_path / "home")


def write_roster(path: Path, rows: list[dict], encoding="utf-8") -> Path:
    import csv
    import io

    columns = list(rows[0].keys())
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


HOLDER_ID = "110101199003074477"


def cert_row(no="2022ECO110100001", name="王小明", id_number=HOLDER_ID, issued_on="2022-01-14",
             seal="ministry", issuer="人力资源和社会保障部", qualification="经济专业技术资格", level="中级"):
    return {"certificate_no": no, "name": name, "id_type": "resident_id", "id_number": id_number,
            "qualification": qualification, "level": level, "issued_on": issued_on, "issuer": issuer, "seal": seal}


def three_certificates() -> list[dict]:
    """The holder's annotated certificate, an exempt association certificate (issued before
    2021-12-17) and another holder's certificate with a rare character in the name."""
    return [
        cert_row(),
        cert_row(no="2019TAX310100003", seal="association", issuer="中国注册税务师协会", qualification="税务师",
                 level="", issued_on="2019-06-20"),
        cert_row(no="2023AUD440300002", name="李䶮", id_number="11010519491231002X",
                 qualification="审计专业技术资格", level="初级", issued_on="2023-03-01"),
    ]


@pytest.fixture
def issued(cli, tmp_path) -> Cli:
    """A home with keys, three certificates and a logged-in holder who accepted the terms."""
    assert cli("admin", "init").code == 0
    roster = write_roster(tmp_path / "roster.csv", three_certificates())
    result = cli("admin", "issue", roster)
    assert result.code == 0, result.out
    assert cli("register", "--name", "王小明", "--id-number", HOLDER_ID).code == 0
    assert cli("login", "--id-number", HOLDER_ID).code == 0
    assert cli("agree", "--yes").code == 0
    return cli


def blank_pdf(text: str, title: str | None = None) -> bytes:
    """A one-page unsigned PDF with ``text`` on it, for the signing and CMS tests."""
    import io

    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4, invariant=True, pageCompression=0)
    if title is not None:
        page.setTitle(title)
    page.drawString(72, 760, text)
    page.showPage()
    page.save()
    return buffer.getvalue()


@pytest.fixture(scope="session")
def serve_template(tmp_path_factory) -> Path:
    """A home as an administrator prepares it (tests/serving.py prepare_home), which the
    ``certcli serve`` tests copy: made once for the session, as those tests are split over
    tests/test_server.py, test_server_running.py and test_server_in_process.py."""
    from serving import prepare_home  # here, not at the top: serving imports this module

    return prepare_home(tmp_path_factory.mktemp("template"))
