"""The known attack shapes against PDF signatures, built from our own genuine PDFs.

Universal Signature Forgery (USF), Incremental Saving Attack (ISA), Signature
Wrapping (SWA), shadow and certification attacks (appended revisions), plus
plain byte flips, trailing junk, a foreign root and hostile structure.  Every
shape must be rejected by ``certcli verify`` (exit 1) with its named reason;
every genuine document is accepted by us, by pyHanko and by pdfsig.  The shapes
themselves are in tests/attack_corpus.py; a stolen seal key is in
tests/test_attacks_stolen_key.py.
"""
from __future__ import annotations

from io import BytesIO

import pytest

from attack_corpus import ATTACKS, ROOT_PEM
from conftest import EXIT_INTERNAL
from external import pdfsig_report, pyhanko_validate
from genuine_documents import make_genuine
from incremental_forgeries import bomb_pdf, bomb_update


@pytest.fixture(scope="module")
def genuine(tmp_path_factory):
    return make_genuine(tmp_path_factory.mktemp("attacks"))


@pytest.fixture(scope="module")
def foreign(tmp_path_factory):
    """A second issuer with its own root: its documents are genuine, but not ours."""
    return make_genuine(tmp_path_factory.mktemp("foreign"))


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack_rejected_with_its_reason(genuine, tmp_path, name):
    build, check, reason = ATTACKS[name]
    ROOT_PEM[:] = [genuine.root]
    original = genuine.pdf.read_bytes()
    forged = build(original)
    assert forged != original
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(forged)
    result = genuine.verify(path)
    assert result.code != EXIT_INTERNAL, result.out + result.err
    assert result.code == 1, result.out
    document = result.json
    assert not document["valid"]
    failed = [c for c in document["checks"] if c["ok"] is False]
    assert failed and failed[0]["name"] == check, document
    assert document["reason"] == reason, document
    human = genuine.verify(path, json_mode=False, lang="zh")
    assert human.code != EXIT_INTERNAL, human.out + human.err
    assert human.code == 1 and human.out.startswith("无效：") and "Traceback" not in human.out + human.err


def test_attack_also_rejected_offline_with_a_bundle(genuine, tmp_path):
    for name in ("flip_page_content", "incremental_page_content", "contents_zeroed", "signature_wrapping_moved_block"):
        path = tmp_path / f"{name}.pdf"
        path.write_bytes(ATTACKS[name][0](genuine.pdf.read_bytes()))
        result = genuine.verify(path, "--trust", genuine.bundle, home=tmp_path / "empty")
        assert result.code == 1 and result.json["reason"] == ATTACKS[name][2]


def test_pdf_signed_by_a_different_root(genuine, foreign, tmp_path):
    for args, home in (((), None), (("--trust", genuine.bundle), tmp_path / "empty")):
        result = genuine.verify(foreign.pdf, *args, home=home)
        assert result.code == 1, result.out
        checks = {c["name"]: c for c in result.json["checks"]}
        assert checks["signature"]["ok"] is True                         # intact, just not ours
        assert checks["signer_chain"]["ok"] is False and result.json["reason"] == "untrusted_signer"
    # and the QR payload of the other issuer
    result = genuine.verify("--qr", foreign.payload())
    assert result.code == 1 and result.json["reason"] == "unknown_signing_key", result.out
    # the foreign root's own validators agree it is not ours
    assert "Certificate is Trusted." not in pdfsig_report(foreign.pdf, genuine.root, tmp_path)
    assert pyhanko_validate(foreign.pdf, genuine.root, pretty=False)[0] != 0


def test_genuine_documents_accepted_by_us_pyhanko_and_pdfsig(genuine, tmp_path):
    for pdf in (genuine.pdf, genuine.exempt):
        assert genuine.verify(pdf).code == 0
        code, out = pyhanko_validate(pdf, genuine.root, pretty=False)
        assert code == 0 and "INTACT:TRUSTED,UNTOUCHED" in out, out
        report = pdfsig_report(pdf, genuine.root, tmp_path)
        assert "Signature is Valid." in report and "Certificate is Trusted." in report, report
        assert "Total document signed" in report, report


@pytest.mark.slow   # pdfsig and pyHanko over every core attack; genuine documents are checked by them by default
def test_external_validators_see_the_core_attacks_too(genuine, tmp_path):
    """Cross-check: a flipped byte and a foreign signature fail everywhere; the
    appended revision is where we are stricter than pdfsig (which only reports
    that the document is no longer totally signed)."""
    original = genuine.pdf.read_bytes()
    flipped = tmp_path / "flip.pdf"
    flipped.write_bytes(ATTACKS["flip_page_content"][0](original))
    assert pyhanko_validate(flipped, genuine.root, pretty=False)[0] != 0
    assert "Signature is Valid." not in pdfsig_report(flipped, genuine.root, tmp_path)
    appended = tmp_path / "appended.pdf"
    appended.write_bytes(ATTACKS["incremental_page_content"][0](original))
    assert "Total document signed" not in pdfsig_report(appended, genuine.root, tmp_path)
    assert pyhanko_validate(appended, genuine.root, pretty=False)[0] != 0


def test_decompression_bombs_are_never_inflated(genuine, tmp_path):
    import tracemalloc

    from certcli.verification import checks as verification

    context, now = genuine.context(), genuine_now(genuine)
    for data, reason in ((bomb_pdf(), "unsigned"), (bomb_update(genuine.pdf.read_bytes()), "incremental_update")):
        tracemalloc.start()
        verdict = verification.verify_pdf(data, context, now)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert not verdict.valid and verdict.reason == reason
        assert peak < 16 * 2**20, peak                                  # no inflation, no copies
        path = tmp_path / "bomb.pdf"
        path.write_bytes(data)
        result = genuine.verify(path)
        assert result.code == 1 and result.json["reason"] == reason, result.out + result.err
    context.close()


def genuine_now(genuine):
    from datetime import datetime, timedelta

    return datetime.fromisoformat(genuine.verify(genuine.pdf).json["facts"]["signed_at"]) + timedelta(hours=1)


def test_even_our_own_key_cannot_smuggle_hostile_structure(genuine, tmp_path):
    """A document signed by our seal key (as a thief could) but built with
    cross-reference/object streams is refused before any parser inflates them;
    decoding limits stay in force behind that."""
    import subprocess

    from conftest import PASSPHRASE, need_tool

    from certcli.pki.keys import IssuerKeys
    from certcli.documents.signing import PdfSealSigner
    from certcli.verification import checks as verification

    qpdf = need_tool("qpdf")
    plain = tmp_path / "plain.pdf"
    from genuine_documents import unsigned_pdf

    plain.write_bytes(unsigned_pdf())
    packed = tmp_path / "packed.pdf"
    subprocess.run([qpdf, "--object-streams=generate", str(plain), str(packed)], check=True, capture_output=True)
    seal = IssuerKeys(genuine.cli.home / "keys").load_seal("ministry", PASSPHRASE.encode())
    now = genuine_now(genuine)
    signed = PdfSealSigner(seal).sign(packed.read_bytes(), signing_time=now)
    context = genuine.context()
    verdict = verification.verify_pdf(signed, context, now)
    assert not verdict.valid and verdict.reason == "unsupported_structure"
    # a plain document our key signed outside the pipeline has no signed QR data
    verdict = verification.verify_pdf(PdfSealSigner(seal).sign(plain.read_bytes(), signing_time=now), context, now)
    assert not verdict.valid and verdict.reason == "missing_qr"
    context.close()


def test_attack_corpus_names_every_shape_in_the_issue():
    shapes = {"flip_", "incremental_page_content", "incremental_annotation", "incremental_form_field",
              "second_", "byte_range_shifted", "signature_wrapping", "contents_zeroed", "contents_key_removed",
              "trailing_junk"}
    for shape in shapes:
        assert any(name.startswith(shape) for name in ATTACKS), shape


def test_our_key_on_an_approval_signature_is_not_a_certification(genuine, tmp_path):
    """Re-signing the unsigned first revision with our own seal key, but as an
    approval signature (no DocMDP certification), is not a certcli document.
    (Signed by certcli's own signer, so the CMS is canonical, low-S included: the
    certification check is what refuses it.)"""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    from conftest import PASSPHRASE

    from certcli.pki.keys import IssuerKeys
    from certcli.documents.signing import FIELD_NAME, PdfSealSigner

    seal = IssuerKeys(genuine.cli.home / "keys").load_seal("ministry", PASSPHRASE.encode())
    signer = PdfSealSigner(seal)._signer
    original = genuine.pdf.read_bytes()
    unsigned = original[:original.index(b"%%EOF") + 6]                  # the rendered page, before signing
    meta = signers.PdfSignatureMetadata(field_name=FIELD_NAME, md_algorithm="sha256",
                                        subfilter=fields.SigSeedSubFilter.PADES, certify=False)
    approval = signers.sign_pdf(IncrementalPdfFileWriter(BytesIO(unsigned)), meta, signer=signer).getvalue()
    path = tmp_path / "approval.pdf"
    path.write_bytes(approval)
    result = genuine.verify(path)
    assert result.code == 1, result.out
    checks = {c["name"]: c for c in result.json["checks"]}
    assert checks["signature"]["ok"] and checks["signer_chain"]["ok"]          # our key, intact
    assert result.json["reason"] == "not_certified"


def test_genuine_documents_pass_pyhankos_own_validator_in_process(genuine):
    """The library cross-check behind our verdict: pyHanko (intact, trusted,
    entire file, certification with no changes) agrees on every genuine document."""
    from certcli.verification import checks as verification
    from certcli.documents.signing import validate_with_pyhanko

    context = genuine.context()
    now = genuine_now(genuine)
    for pdf in (genuine.pdf, genuine.exempt):
        data = pdf.read_bytes()
        assert verification.verify_pdf(data, context, now).valid
        result = validate_with_pyhanko(data, context.root, now)
        assert result["intact"] and result["valid"] and result["trusted"] and result["unmodified"]
        assert result["coverage"] == "ENTIRE_FILE" and result["certification"] and result["docmdp"] == "NO_CHANGES"
        assert result["signature_count"] == 1
    context.close()


CANONICAL_ATTACKS = sorted(name for name, (_, _, reason) in ATTACKS.items() if reason == "non_canonical_signature")


def test_re_encoded_twins_still_verify_cryptographically(genuine):
    """Why the canonical check exists: these twins of a genuine file are accepted by
    pyHanko's validator (intact, signature valid, trusted), and were VALID for certcli
    before it compared the CMS with the exact DER it writes."""
    from certcli.documents.signing import validate_with_pyhanko

    context = genuine.context()
    now = genuine_now(genuine)
    original = genuine.pdf.read_bytes()
    for name in ("cms_high_s", "cms_root_dropped", "cms_certificate_added", "cms_certificates_reordered",
                 "cms_signature_algorithm_null_parameters", "cms_ber_signer_infos_long_length"):
        twin = ATTACKS[name][0](original)
        result = validate_with_pyhanko(twin, context.root, now)
        assert result["intact"] and result["valid"] and result["trusted"], (name, result)
    context.close()


def test_re_encoded_genuine_file_is_not_valid_at_home_nor_offline(genuine, tmp_path):
    """Not NOT VALID at home (whole-file hash) and VALID offline: the same everywhere."""
    for pdf in (genuine.pdf, genuine.exempt):
        twin = tmp_path / f"twin-{pdf.name}"
        twin.write_bytes(ATTACKS["cms_high_s"][0](pdf.read_bytes()))
        for args, home in (((), None), (("--trust", genuine.bundle), tmp_path / "empty")):
            result = genuine.verify(twin, *args, home=home)
            assert result.code == 1, result.out + result.err
            assert result.json["reason"] == "non_canonical_signature", result.json


def test_canonical_corpus_covers_every_re_encoding_in_the_issue():
    for shape in ("cms_high_s", "cms_certificates_reordered", "cms_root_dropped", "cms_ber_",
                  "cms_signature_algorithm_null_parameters", "cms_signature_algorithm_sha384_label"):
        assert any(name.startswith(shape) for name in CANONICAL_ATTACKS), shape
