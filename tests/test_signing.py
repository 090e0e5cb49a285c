"""PAdES certification signatures, checked by pyHanko, poppler (NSS) and qpdf."""
from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pytest
from conftest import blank_pdf
from asn1crypto import cms
from cryptography.hazmat.primitives import serialization
from pypdf import PdfReader

from certcli.pki.keys import IssuerKeys
from certcli.documents.signing import FIELD_NAME, PdfSealSigner, stock_sign, validate_with_pyhanko
from external import pdfsig_report, pyhanko_validate, qpdf_check

CST = timezone(timedelta(hours=8))
PASS = b"seal passphrase"
# External validators (pdfsig, pyhanko CLI) check validity against the real clock,
# so the keys are made "now"; the library itself never reads the clock.
NOW = datetime.now(CST).replace(microsecond=0)
SIGNING_TIME = NOW - timedelta(minutes=5)


def make_pdf(text: str = "Certificate 2021110100000123") -> bytes:
    return blank_pdf(text, title="untitled")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("signing")
    keys = IssuerKeys(tmp / "keys")
    keys.init(PASS, NOW)
    seal = keys.load_seal("ministry", PASS)
    signer = PdfSealSigner(seal)
    signed = signer.sign(make_pdf(), signing_time=SIGNING_TIME, location="北京")
    pdf_path = tmp / "signed.pdf"
    pdf_path.write_bytes(signed)
    root_pem = tmp / "root.pem"
    root_pem.write_bytes(keys.root_certificate().public_bytes(serialization.Encoding.PEM))
    return {"tmp": tmp, "keys": keys, "seal": seal, "signer": signer, "signed": signed,
            "pdf_path": pdf_path, "root_pem": root_pem}


def _tampered(env, name: str, data: bytes):
    path = env["tmp"] / name
    path.write_bytes(data)
    return path


def test_pdfsig_valid_trusted_whole_file(env, tmp_path):
    report = pdfsig_report(env["pdf_path"], env["root_pem"], tmp_path)
    assert "Signature is Valid." in report, report
    assert "Certificate is Trusted." in report, report
    assert "Total document signed" in report, report
    assert f"Signature Field Name: {FIELD_NAME}" in report
    assert "ETSI.CAdES.detached" in report
    assert "SHA-256" in report
    utc = SIGNING_TIME.astimezone(timezone.utc)
    assert f"Signing Time: {utc:%b %d %Y %H:%M:%S}" in report, report


def test_pyhanko_cli_intact_trusted_untouched(env):
    code, out = pyhanko_validate(env["pdf_path"], env["root_pem"], pretty=False)
    assert code == 0, out
    assert f"{FIELD_NAME}:" in out and out.strip().endswith("INTACT:TRUSTED,UNTOUCHED"), out
    code, out = pyhanko_validate(env["pdf_path"], env["root_pem"])
    assert code == 0, out
    assert "The signer's certificate is trusted." in out
    assert "The signature covers the entire file." in out
    assert "The signature is judged VALID." in out


def test_qpdf_check_clean(env):
    code, out = qpdf_check(env["pdf_path"])
    assert code == 0, out
    assert "No syntax or stream encoding errors found" in out


def test_docmdp_certification_and_signature_dictionary(env):
    reader = PdfReader(io.BytesIO(env["signed"]))
    perms = reader.trailer["/Root"]["/Perms"]
    sig = perms["/DocMDP"].get_object()
    assert sig["/Type"] == "/Sig" and sig["/SubFilter"] == "/ETSI.CAdES.detached"
    ref = sig["/Reference"][0].get_object()
    assert ref["/TransformMethod"] == "/DocMDP"
    assert ref["/TransformParams"]["/P"] == 1                     # no changes allowed
    assert sig["/Reason"] == "证书签发" and sig["/Location"] == "北京"
    assert str(sig["/M"]) == f"D:{SIGNING_TIME:%Y%m%d%H%M%S}+08'00'"      # injected, CST
    fields = [f.get_object() for f in reader.trailer["/Root"]["/AcroForm"]["/Fields"]]
    field = next(f for f in fields if f["/T"] == FIELD_NAME)
    assert field["/V"].get_object() == sig
    rect = [float(v) for v in field["/Rect"]]
    assert rect[2] - rect[0] == 0 and rect[3] - rect[1] == 0      # invisible


def test_cms_is_pades_baseline(env):
    sig = PdfReader(io.BytesIO(env["signed"])).trailer["/Root"]["/Perms"]["/DocMDP"].get_object()
    content = cms.ContentInfo.load(bytes(sig["/Contents"]).rstrip(b"\0"))
    signed_data = content["content"]
    signer_info = signed_data["signer_infos"][0]
    assert signer_info["digest_algorithm"]["algorithm"].native == "sha256"
    assert signer_info["signature_algorithm"]["algorithm"].native == "sha256_ecdsa"
    attr_types = {a["type"].native for a in signer_info["signed_attrs"]}
    # PAdES B-B: signing-certificate-v2 present, CMS signingTime absent (time is /M).
    assert attr_types == {"content_type", "message_digest", "signing_certificate_v2"}
    certs = {c.chosen.dump() for c in signed_data["certificates"]}
    seal, root = env["seal"].certificate, env["keys"].root_certificate()
    assert certs == {seal.public_bytes(serialization.Encoding.DER),
                     root.public_bytes(serialization.Encoding.DER)}


def test_fast_cms_matches_stock_pyhanko(env):
    """Our spliced CMS has the same structure as pyHanko's SimpleSigner output."""
    def parts(pdf: bytes):
        sig = PdfReader(io.BytesIO(pdf)).trailer["/Root"]["/Perms"]["/DocMDP"].get_object()
        sd = cms.ContentInfo.load(bytes(sig["/Contents"]).rstrip(b"\0"))["content"]
        si = sd["signer_infos"][0]
        attrs = {a["type"].native: a["values"].dump() for a in si["signed_attrs"]}
        attrs.pop("message_digest")
        return (sd["version"].native, sd["digest_algorithms"].dump(),
                sd["encap_content_info"].dump(),
                sorted(c.dump() for c in sd["certificates"]), si["version"].native,
                si["sid"].dump(), si["digest_algorithm"].dump(),
                si["signature_algorithm"].dump(), attrs, si["unsigned_attrs"].native,
                sig["/SubFilter"], sig["/Filter"])
    stock = stock_sign(env["seal"], make_pdf())
    assert parts(stock) == parts(env["signed"])
    result = validate_with_pyhanko(stock, env["keys"].root_certificate(), NOW)
    assert result["bottom_line"]


def test_validate_with_pyhanko_dict(env):
    result = validate_with_pyhanko(env["signed"], env["keys"].root_certificate(), NOW)
    assert result["signed"] and result["signature_count"] == 1
    assert result["field"] == FIELD_NAME
    assert result["intact"] and result["valid"] and result["trusted"]
    assert result["coverage"] == "ENTIRE_FILE" and result["modification_level"] == "NONE"
    assert result["unmodified"] and result["error"] is None
    assert result["docmdp"] == "NO_CHANGES" and result["certification"]
    assert result["docmdp_ok"] and result["bottom_line"]
    assert result["signing_time"] == SIGNING_TIME
    assert result["signer_key_id"] == env["seal"].info.key_id
    assert result["summary"] == "INTACT:TRUSTED,UNTOUCHED"


def test_validate_untrusted_root_and_unsigned(env, tmp_path):
    other = IssuerKeys(tmp_path / "other")
    other.init(b"x", NOW)
    result = validate_with_pyhanko(env["signed"], other.root_certificate(), NOW)
    assert result["intact"] and result["valid"] and not result["trusted"]
    assert not result["bottom_line"]
    late = validate_with_pyhanko(env["signed"], env["keys"].root_certificate(),
                                 NOW + timedelta(days=365 * 11))     # seal cert expired
    assert late["intact"] and not late["trusted"]
    unsigned = validate_with_pyhanko(make_pdf(), env["keys"].root_certificate(), NOW)
    assert unsigned["signed"] is False and not unsigned["bottom_line"]


@pytest.mark.parametrize("how", ["edit_text", "flip_byte"])
def test_tampering_detected(env, tmp_path, how):
    data = env["signed"]
    if how == "edit_text":          # the visible number, same length, in the page content
        assert data.count(b"2021110100000123") == 1
        bad = data.replace(b"2021110100000123", b"2021110100000124")
    else:
        buf = bytearray(data)
        buf[len(buf) // 8] ^= 0x01
        bad = bytes(buf)
    path = _tampered(env, f"tampered-{how}.pdf", bad)
    report = pdfsig_report(path, env["root_pem"], tmp_path)
    assert "Signature is Valid." not in report, report
    assert "Digest Mismatch." in report or "Signature is Invalid." in report, report
    code, out = pyhanko_validate(path, env["root_pem"], pretty=False)
    assert code != 0 and "INVALID" in out, out
    result = validate_with_pyhanko(bad, env["keys"].root_certificate(), NOW)
    assert not result["intact"] and not result["bottom_line"]


@pytest.mark.parametrize("change", ["info", "page"])
def test_appended_update_is_detected(env, tmp_path, change):
    from pyhanko.pdf_utils.generic import NameObject, NumberObject, TextStringObject
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(env["signed"]))
    if change == "info":
        target = writer.trailer["/Info"].get_object()
        target[NameObject("/Title")] = TextStringObject("forged")
    else:
        target = writer.root["/Pages"]["/Kids"][0].get_object()
        target[NameObject("/Rotate")] = NumberObject(90)
    writer.update_container(target)
    out = io.BytesIO()
    writer.write(out)
    bad = out.getvalue()
    result = validate_with_pyhanko(bad, env["keys"].root_certificate(), NOW)
    assert result["intact"] and result["coverage"] == "ENTIRE_REVISION"
    assert result["unmodified"] is False
    if change == "page":            # forbidden by DocMDP P=1
        assert result["docmdp_ok"] is False and not result["bottom_line"]
    # (pyHanko's own policy tolerates /Info-only updates as LTA_UPDATES.)
    report = pdfsig_report(_tampered(env, f"appended-{change}.pdf", bad), env["root_pem"], tmp_path)
    assert "Not total document signed" in report, report


def test_metadata_times_are_the_injected_signing_time(env):
    reader = PdfReader(io.BytesIO(env["signed"]))
    info = reader.trailer["/Info"]
    assert str(info["/ModDate"]) == f"D:{SIGNING_TIME:%Y%m%d%H%M%S}+08'00'"
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode("utf-8")
    assert f'ModifyDate="{SIGNING_TIME.isoformat()}"' in xmp, xmp


def test_broken_signature_container_is_invalid_not_a_crash(env):
    data = env["signed"]
    start = data.index(b"/Contents <") + len(b"/Contents <")
    bad = data[:start] + b"31" + data[start + 2:]         # CMS SEQUENCE tag -> SET
    result = validate_with_pyhanko(bad, env["keys"].root_certificate(), NOW)
    assert result["signed"] and not result["intact"] and not result["bottom_line"]
    assert result["error"]
    from certcli.errors import BadInput
    for garbage in (b"", b"not a pdf", data[: len(data) // 3]):
        with pytest.raises(BadInput):
            validate_with_pyhanko(garbage, env["keys"].root_certificate(), NOW)


def test_one_signer_many_documents(env):
    """Reused signer: ECDSA DER signatures vary in length (70-72 bytes); all validate."""
    root = env["keys"].root_certificate()
    for i in range(16):
        signed = env["signer"].sign(make_pdf(f"doc {i}"), signing_time=SIGNING_TIME)
        result = validate_with_pyhanko(signed, root, NOW)
        assert result["bottom_line"], (i, result)
    assert len(env["signer"]._signer._templates) >= 2


def test_sign_rejects_naive_time_and_garbage(env):
    with pytest.raises(ValueError):
        env["signer"].sign(make_pdf(), signing_time=datetime(2026, 3, 1))
    from certcli.errors import BadInput
    with pytest.raises(BadInput):
        env["signer"].sign(b"not a pdf", signing_time=SIGNING_TIME)


def test_signing_works_when_the_process_used_cms_attributes_first():
    """asn1crypto builds its attribute name -> OID map on first use, and pyHanko adds its
    names ('signing_certificate_v2') only to the other map when imported: a process that
    verified before it signed (batch verify, then admin process, in one test process) could
    not sign.  A fresh process, so that nothing imported pyHanko before."""
    import subprocess
    import sys

    code = ("from asn1crypto import cms\n"
            "cms.CMSAttributeType('content_type')\n"          # the name map is built now
            "from certcli.documents.signing import _pyhanko_classes\n"
            "_pyhanko_classes()\n"
            "print(cms.CMSAttributeType('signing_certificate_v2').dotted)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "1.2.840.113549.1.9.16.2.47", done.stderr
