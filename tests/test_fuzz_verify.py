"""Property-based fuzzing of the verifier (hypothesis): mutated genuine PDFs and QR
payloads never raise and are never valid.

A few hundred cases per property in the default run ([short]); the ``slow`` [long]
variants run thousands (``python -m pytest -m slow tests/test_fuzz_verify.py``; CI runs them).
"""
from __future__ import annotations

import base64
import json
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certcli import i18n
from conftest import EXIT_INTERNAL
from genuine_documents import make_genuine

CASES, LONG_CASES = 300, 5000
LONG_PDF_CASES = 2000     # a whole verify_pdf per case: keeps the slow run inside CI's time
CLI_CASES, LONG_CLI_CASES = 12, 200
FUZZ = settings(max_examples=CASES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])


def sizes(short: int, long: int):
    """The property at ``short`` cases in the default run, and at ``long`` in the slow run."""
    return pytest.mark.parametrize("cases", [pytest.param(short, id="short"),
                                             pytest.param(long, id="long", marks=pytest.mark.slow)])


QR_REASONS = {"not_a_certcli_qr", "qr_signature_invalid", "unknown_signing_key"}


class Corpus:
    def __init__(self, base: Path):
        self.genuine = make_genuine(base)
        self.context = self.genuine.context()
        self.docs = [self.genuine.pdf.read_bytes(), self.genuine.exempt.read_bytes()]
        signed = datetime.fromisoformat(self.genuine.verify(self.genuine.pdf).json["facts"]["signed_at"])
        self.now = signed + timedelta(hours=1)
        self.payloads = [self.genuine.payload(), self.genuine.payload(self.genuine.exempt)]
        from certcli.verification import checks as verification

        for data in self.docs:
            assert verification.verify_pdf(data, self.context, self.now).valid
        for payload in self.payloads:
            assert verification.verify_qr(payload, self.context, self.now).valid

    def hotspots(self, data: bytes) -> list[int]:
        """Where the interesting structure is: the signature dictionary, the gap edges,
        the QR payload, the xref tables, the trailer, the file's ends."""
        import re

        spots = [0, 9, len(data) - 1, len(data) - 7]
        for token in (b"/ByteRange", b"/Contents <", b"/CertcliQR", b"/M (D:", b"/Perms", b"/DocMDP", b"\nxref",
                      b"startxref", b"%%EOF", b"/AcroForm", b"/Info", b"trailer"):
            spots += [m.start() for m in re.finditer(re.escape(token), data)]
        match = re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", data)
        b, c = int(match.group(2)), int(match.group(3))
        spots += [b, b + 1, c - 1, c, c - 200, c - 2000]
        return sorted({min(max(s, 0), len(data) - 1) for s in spots})


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Corpus:
    corpus = Corpus(tmp_path_factory.mktemp("fuzz"))
    yield corpus
    corpus.context.close()


@st.composite
def mutated(draw, corpus: Corpus) -> tuple[bytes, bytes]:
    original = corpus.docs[draw(st.integers(0, len(corpus.docs) - 1))]
    data = bytearray(original)
    hotspots = corpus.hotspots(original)
    for _ in range(draw(st.integers(1, 3))):
        size = len(data)
        if size == 0:
            break
        near = min(draw(st.sampled_from(hotspots)), size - 1)
        position = draw(st.one_of(st.integers(0, size - 1),
                                  st.integers(max(0, near - 48), min(size - 1, near + 48))))
        kind = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate", "append", "duplicate"]))
        if kind == "flip":
            data[position] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set":
            data[position] = draw(st.sampled_from(b"0 9AFaf<>[]/\n\r%\x00\xff"))
        elif kind == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del data[position:position + draw(st.integers(1, 64))]
        elif kind == "truncate":
            del data[position:]
        elif kind == "append":
            data += draw(st.sampled_from([b"\n", b" ", b"%%EOF\n", b"\x00", b"trailer\n<<>>\n"]))
        else:
            length = draw(st.integers(1, 200))
            data[position:position] = data[max(0, position - length):position]
    return original, bytes(data)


@sizes(CASES, LONG_PDF_CASES)
def test_fuzz_pdf_mutations_never_valid_never_raise(corpus, cases):
    from certcli.verification import checks as verification

    @settings(FUZZ, max_examples=cases)
    @given(case=mutated(corpus))
    def run(case):
        original, data = case
        verdict = verification.verify_pdf(data, corpus.context, corpus.now)
        assert isinstance(verdict, verification.Verdict)
        document = verdict.to_json("zh")
        json.dumps(document, ensure_ascii=False, default=str)
        if data != original:
            assert not verdict.valid, (verdict.reason, [c for c in verdict.checks if c.ok is False])
            assert i18n.has(f"reason.{verdict.reason}")
        else:
            assert verdict.valid

    run()


@sizes(CASES, LONG_PDF_CASES)
def test_fuzz_every_signed_byte_is_protected(corpus, cases):
    """Any single bit flip outside the /Contents gap (the signed bytes) is caught."""
    from certcli.verification import checks as verification

    original = corpus.docs[0]
    import re

    match = re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", original)
    b, c = int(match.group(2)), int(match.group(3))
    signed = st.one_of(st.integers(0, b - 1), st.integers(c, len(original) - 1))

    @settings(FUZZ, max_examples=cases)
    @given(position=signed, bit=st.integers(0, 7))
    def run(position, bit):
        data = bytearray(original)
        data[position] ^= 1 << bit
        assert not verification.verify_pdf(bytes(data), corpus.context, corpus.now).valid

    run()


@sizes(CLI_CASES, LONG_CLI_CASES)
def test_fuzz_through_the_cli(corpus, cases):
    """A few mutated files end to end: exit 1, one JSON document, no traceback."""
    genuine = corpus.genuine
    folder = Path(tempfile.mkdtemp(prefix="fuzz-cli-"))
    now = corpus.now.isoformat()

    @settings(FUZZ, max_examples=cases)
    @given(case=mutated(corpus), lang=st.sampled_from(["zh", "en"]), json_mode=st.booleans())
    def run(case, lang, json_mode):
        original, data = case
        path = folder / "mutated.pdf"
        path.write_bytes(data)
        result = genuine.verify(path, now=now, lang=lang, json_mode=json_mode)
        assert "Traceback" not in result.out + result.err
        assert result.code != EXIT_INTERNAL, result.out + result.err
        if data == original:
            assert result.code == 0
            return
        assert result.code == 1, result.out + result.err
        if json_mode:
            assert result.json["valid"] is False

    run()


# --- QR payloads ---------------------------------------------------------------------------

QR_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567:=1890abcz -\n/二维码é\x00"


@st.composite
def edited_payload(draw, corpus: Corpus) -> tuple[str, str]:
    original = corpus.payloads[draw(st.integers(0, len(corpus.payloads) - 1))]
    text = original
    for _ in range(draw(st.integers(1, 3))):
        position = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["substitute", "insert", "delete", "swap"]))
        char = draw(st.sampled_from(QR_CHARS))
        if kind == "substitute" and position < len(text):
            text = text[:position] + char + text[position + 1:]
        elif kind == "delete" and position < len(text):
            text = text[:position] + text[position + 1:]
        elif kind == "swap" and position + 1 < len(text):
            text = text[:position] + text[position + 1] + text[position] + text[position + 2:]
        else:
            text = text[:position] + char + text[position:]
    return original, text


@sizes(CASES, LONG_CASES)
def test_fuzz_qr_edits_never_valid(corpus, cases):
    from certcli.verification import checks as verification

    @settings(FUZZ, max_examples=cases)
    @given(case=edited_payload(corpus))
    def run(case):
        original, text = case
        verdict = verification.verify_qr(text, corpus.context, corpus.now)
        if text == original:
            assert verdict.valid
        else:
            assert not verdict.valid and verdict.reason in QR_REASONS, (text, verdict.reason)

    run()


@sizes(CASES, LONG_CASES)
def test_fuzz_qr_signed_body_bits(corpus, cases):
    """Canonical base32 but a changed bit in the body or the signature: never valid."""
    from certcli.verification import checks as verification

    original = corpus.payloads[0]
    blob = base64.b32decode(original[4:] + "=" * (-len(original[4:]) % 8))

    @settings(FUZZ, max_examples=cases)
    @given(position=st.integers(0, len(blob) - 1), bit=st.integers(0, 7))
    def run(position, bit):
        changed = bytearray(blob)
        changed[position] ^= 1 << bit
        text = "CC1:" + base64.b32encode(bytes(changed)).decode().rstrip("=")
        verdict = verification.verify_qr(text, corpus.context, corpus.now)
        assert not verdict.valid and verdict.reason in QR_REASONS

    run()


@sizes(CASES, LONG_CASES)
def test_fuzz_arbitrary_text_is_not_a_certcli_qr(corpus, cases):
    from certcli.verification import checks as verification

    @settings(FUZZ, max_examples=cases)
    @given(text=st.text(max_size=400))
    def run(text):
        verdict = verification.verify_qr(text, corpus.context, corpus.now)
        assert not verdict.valid
        if not text.startswith("CC1:"):
            assert verdict.reason == "not_a_certcli_qr"

    run()
