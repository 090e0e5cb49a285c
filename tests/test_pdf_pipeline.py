"""The downloaded certificate, checked end to end with tools we did not write (issue 4)."""
import subprocess

import pytest

from conftest import cert_row, need_tool, write_roster
from external import pdfsig_report, pyhanko_validate, qpdf_check, scan_qr

# The signing keys are made at the real time (validators check certificates against the
# wall clock), so the flow runs at the real time too: CERTCLI_NOW is left to the clock.
REAL = {"CERTCLI_NOW": ""}
RARE_HOLDER = ("吉𠮷䶮", "450103198807150013")


@pytest.fixture(scope="module")
def downloaded(tmp_path_factory):
    from conftest import Cli

    base = tmp_path_factory.mktemp("pipeline")
    cli = Cli(base / "home")
    cli.now = None

    def run(*args, **kw):
        return cli(*args, env=REAL, **kw)

    assert run("admin", "init").code == 0
    name, number = RARE_HOLDER
    roster = write_roster(base / "r.csv", [
        cert_row(no="2024CST450100004", name=name, id_number=number, qualification="造价工程师", level="一级",
                 issued_on="2024-02-01"),
        cert_row(no="2019TAX310100003", name=name, id_number=number, seal="association",
                 issuer="中国注册税务师协会", qualification="税务师", level="", issued_on="2019-06-20")])
    assert run("admin", "issue", roster).code == 0
    assert run("register", "--name", name, "--id-number", number).code == 0
    assert run("login", "--id-number", number).code == 0
    assert run("agree", "--yes").code == 0
    assert run("annotate", "2024CST450100004", "--days", "30").code == 0
    assert run("download", "2019TAX310100003", "-o", base / "exempt.pdf").error_code == "annotation_pending"
    assert run("admin", "process").json["completed"] == 2
    pdf, exempt = base / "cert.pdf", base / "exempt.pdf"
    assert run("download", "2024CST450100004", "-o", pdf).code == 0
    assert run("download", "2019TAX310100003", "-o", exempt).code == 0
    bundle = base / "trust.pem"
    assert run("admin", "trust", "-o", bundle).code == 0
    root = base / "root.pem"
    from certcli.pki.keys import IssuerKeys
    from cryptography.hazmat.primitives.serialization import Encoding

    root.write_bytes(IssuerKeys(cli.home / "keys").root_certificate().public_bytes(Encoding.PEM))
    return {"pdf": pdf, "exempt": exempt, "root": root, "bundle": bundle, "base": base, "run": run}


def test_pdfsig_accepts_signature_and_trusts_the_chain(downloaded, tmp_path):
    for key in ("pdf", "exempt"):
        report = pdfsig_report(downloaded[key], downloaded["root"], tmp_path)
        assert "Signature is Valid." in report, report
        assert "Certificate is Trusted." in report, report
        assert "Total document signed" in report, report


def test_pyhanko_validator_intact_trusted_untouched(downloaded):
    code, out = pyhanko_validate(downloaded["pdf"], downloaded["root"], pretty=False)
    assert code == 0 and "INTACT:TRUSTED,UNTOUCHED" in out, out


def test_qpdf_check_clean(downloaded):
    code, out = qpdf_check(downloaded["pdf"])
    assert code == 0, out


def test_fonts_embedded_subset_unicode(downloaded):
    out = subprocess.run([need_tool("pdffonts"), str(downloaded["pdf"])], capture_output=True, text=True).stdout
    rows = out.splitlines()[2:]
    assert rows
    for row in rows:
        emb, sub, uni = row.split()[-5:-2]
        assert (emb, sub, uni) == ("yes", "yes", "yes"), row


def test_text_extracts_exactly_including_extension_b(downloaded):
    text = subprocess.run([need_tool("pdftotext"), str(downloaded["pdf"]), "-"], capture_output=True,
                          text=True).stdout
    name = RARE_HOLDER[0]
    assert name in text and "造价工程师" in text and "2024CST450100004" in text
    assert RARE_HOLDER[1] not in text and "4501**********0013" in text  # ID masked
    exempt = subprocess.run([need_tool("pdftotext"), str(downloaded["exempt"]), "-"], capture_output=True,
                            text=True).stdout
    assert "无需加注" in exempt


def test_qr_code_decodes_and_verifies_offline(downloaded, tmp_path):
    decoded = scan_qr(downloaded["pdf"], tmp_path)
    assert decoded.startswith("CC1:") and len(decoded) <= 300
    result = downloaded["run"]("verify", "--qr", decoded, "--trust", downloaded["bundle"], "--home",
                               tmp_path / "empty-home")
    assert result.code == 0, result.out
    assert result.json["facts"]["certificate_no"] == "2024CST450100004"


def test_our_verifier_accepts_genuine_documents(downloaded):
    for key in ("pdf", "exempt"):
        result = downloaded["run"]("verify", downloaded[key])
        assert result.code == 0 and result.json["valid"], result.out


def test_a_changed_byte_is_detected_by_everyone(downloaded, tmp_path):
    data = bytearray(downloaded["pdf"].read_bytes())
    position = data.index(b"/CertcliQR") + 14
    data[position] ^= 0x01
    forged = tmp_path / "forged.pdf"
    forged.write_bytes(bytes(data))
    assert "Signature is Valid." not in pdfsig_report(forged, downloaded["root"], tmp_path)
    assert pyhanko_validate(forged, downloaded["root"], pretty=False)[0] != 0
    result = downloaded["run"]("verify", forged)
    assert result.code == 1 and not result.json["valid"]


def test_document_stored_once_and_download_needs_no_key(downloaded, tmp_path):
    import sqlite3

    db = sqlite3.connect(downloaded["base"] / "home" / "certcli.db")
    assert db.execute("SELECT count(*) FROM documents").fetchone()[0] == 2
    result = downloaded["run"]("download", "2024CST450100004", "-o", tmp_path / "again.pdf")
    assert result.code == 0
    assert (tmp_path / "again.pdf").read_bytes() == downloaded["pdf"].read_bytes()
