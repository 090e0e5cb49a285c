"""Genuine certcli documents for the verification tests (tests/test_verify.py,
tests/test_verify_seal_keys.py, tests/test_attacks.py, the verify fuzz, batch, clock and
hostile-input tests): a home with keys, two certificates, one holder, and their downloaded PDFs,
all from our own pipeline.

Keys are made at the real time (pdfsig checks certificates against the wall clock), so these
flows run with CERTCLI_NOW empty; a later ``now`` is passed explicitly to test windows.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from conftest import HOLDER_ID, Cli, cert_row, database_url_for, write_roster

REAL = {"CERTCLI_NOW": ""}
CERT_NO, EXEMPT_NO = "2024CST450100004", "2019TAX310100003"


class Genuine:
    """A home with keys, two certificates, one holder, and their downloaded PDFs."""

    def __init__(self, base: Path):
        self.base = base
        self.cli = Cli(base / "home")
        self.cli.now = None
        base.mkdir(parents=True, exist_ok=True)
        assert self.run("admin", "init").code == 0
        roster = write_roster(base / "r.csv", [
            cert_row(no=CERT_NO, qualification="造价工程师", level="一级", issued_on="2024-02-01"),
            cert_row(no=EXEMPT_NO, seal="association", issuer="中国注册税务师协会", qualification="税务师", level="",
                     issued_on="2019-06-20")])
        assert self.run("admin", "issue", roster).code == 0
        assert self.run("register", "--name", "王小明", "--id-number", HOLDER_ID).code == 0
        self.login()
        assert self.run("annotate", CERT_NO, "--days", "30").code == 0
        self.run("download", EXEMPT_NO, "-o", base / "exempt.pdf")        # queues the exempt copy
        assert self.run("admin", "process").json["completed"] == 2
        self.pdf, self.exempt = base / "cert.pdf", base / "exempt.pdf"
        assert self.run("download", CERT_NO, "-o", self.pdf).code == 0
        assert self.run("download", EXEMPT_NO, "-o", self.exempt).code == 0
        self.bundle = self.export_bundle("trust.pem")
        from cryptography.hazmat.primitives.serialization import Encoding

        from certcli.pki.keys import IssuerKeys

        self.root = base / "root.pem"
        self.root.write_bytes(IssuerKeys(self.cli.home / "keys").root_certificate().public_bytes(Encoding.PEM))

    def run(self, *args, env=None, **kwargs):
        return self.cli(*args, env={**REAL, **(env or {})}, **kwargs)

    def login(self):
        assert self.run("login", "--id-number", HOLDER_ID).code == 0
        assert self.run("agree", "--yes").code == 0

    def export_bundle(self, name: str) -> Path:
        path = self.base / name
        assert self.run("admin", "trust", "-o", path).code == 0
        return path

    def verify(self, *args, now: str | None = None, home: Path | None = None, lang="en", json_mode=True):
        """``home``: another home (an empty one: offline), with no database URL either (on
        PostgreSQL this home's database would stand in for its store)."""
        env = {"CERTCLI_NOW": now or ""}
        extra = ["--home", home] if home is not None else []
        if home is not None:
            env["CERTCLI_DATABASE_URL"] = None
        return self.cli("verify", *args, *extra, env=env, lang=lang, json_mode=json_mode)

    def payload(self, pdf: Path | None = None) -> str:
        from io import BytesIO

        from pypdf import PdfReader

        return str(PdfReader(BytesIO((pdf or self.pdf).read_bytes())).metadata["/CertcliQR"])

    def context(self, trust: Path | None = None):
        """The home's verification context, with its store on the selected backend (as
        --database-url gives it to the CLI)."""
        from certcli.home import use_database_url
        from certcli.verification.checks import Context

        use_database_url(database_url_for(self.cli.home))
        try:
            return Context.load(self.cli.home, trust)
        finally:
            use_database_url(None)


def make_genuine(base: Path) -> Genuine:
    return Genuine(base)


def iso(instant: datetime) -> str:
    return instant.isoformat()


@pytest.fixture
def fresh(tmp_path) -> Genuine:
    """A home of its own, for tests that rotate or retire keys."""
    return make_genuine(tmp_path / "g")


def unsigned_pdf() -> bytes:
    from io import BytesIO

    from reportlab.pdfgen import canvas

    out = BytesIO()
    page = canvas.Canvas(out)
    page.drawString(100, 700, "Certificate")
    page.save()
    return out.getvalue()
