"""Make ``verifier_vectors.json``: ONE set of test vectors for the two QR verifiers.

    python tests/vectors/make_verifier_vectors.py

Each vector is a payload, a signed trust bundle (with its closed keys' ledgers), a
``now`` and optionally a maximum bundle age, with the outcome ``certcli verify --qr
PAYLOAD --trust BUNDLE`` gives: valid, reason, every check (name, ok, reason, detail),
the disclosed facts, the warnings, the bundle's dates.  The expected outcome is what
the Python verifier (``certcli.verification.checks.verify_qr``) says today;
``tests/test_verifier_vectors.py`` holds Python to it and ``tests/test_browser.py``
holds the verification page's JavaScript (``certcli/verifier/assets/verifier.js``, in
headless Chromium) to it, so the two can never drift apart unnoticed.

The keys are made afresh by each run (TEST keys only, thrown away: nothing here signs a
real document), so re-running rewrites every payload and bundle.  Regenerate after a
deliberate change of a verification rule, and look at the diff of the ``expected``
parts: that diff is the change in behaviour both verifiers must make.

Also recorded: ``bad_bundles`` (edited bundles both verifiers refuse, with the reason)
and ``scanned`` (what a QR code may carry, and the payload ``verify --qr`` and the page
take out of it).
"""
from __future__ import annotations

import base64
import hashlib
import json
import sys
import tempfile
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature  # noqa: E402

from certcli.documents import qrpayload  # noqa: E402
from certcli.pki import keys as pki  # noqa: E402
from certcli.pki import ledgers as pki_ledgers  # noqa: E402
from certcli.pki import trust_bundle as tb  # noqa: E402

OUT_FILE = HERE / "verifier_vectors.json"
CST = timezone(timedelta(hours=8))
UTC = timezone.utc
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
NOW = datetime(2026, 3, 1, 10, 0, tzinfo=CST)
ISSUED_AT = datetime(2026, 3, 1, 9, 0, tzinfo=CST)
REVOKED_NO = "2023AUD440300002"


def cst(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CST) if "+" not in text else datetime.fromisoformat(text)


# --------------------------------------------------------------------------- the outcome, as both verifiers report it

LEDGER_REASONS = ("ledger_missing", "ledger_mismatch")


def _iso(instant):
    return None if instant is None else instant.astimezone(CST).isoformat()


def outcome(verdict) -> dict:
    """A verdict of ``verify_qr`` in the shape the JavaScript verifier's ``toJSON`` gives:
    the `verify --json` document without its sentence and clock fields, warnings as
    (code, data), a ledger file named by its file name (Python names the whole path)."""
    facts = json.loads(json.dumps(verdict.facts, ensure_ascii=False, default=lambda v: v.isoformat()))
    checks = [{"name": c.name, "ok": c.ok, "reason": c.reason,
               "detail": Path(c.detail).name if c.reason in LEDGER_REASONS and c.detail else c.detail}
              for c in verdict.checks]
    return {"valid": verdict.valid, "kind": verdict.kind, "reason": verdict.reason,
            "bundle_issued_at": _iso(verdict.bundle_issued_at), "bundle_next_update": _iso(verdict.bundle_next_update),
            "status_as_of": _iso(verdict.status_as_of),
            "warnings": [{"code": code, "data": data} for code, data in verdict.warnings],
            "facts": facts, "checks": checks}


def ledger_files(bundle: dict, mode: str) -> dict[str, bytes]:
    """The ledger files a verifier finds for a vector: all of them, none, or each with one
    byte changed."""
    files = {name: base64.b64decode(data) for name, data in bundle["ledgers"].items()}
    if mode == "none":
        return {}
    if mode == "tampered":
        return {name: bytes([data[0] ^ 1]) + data[1:] for name, data in files.items() if data}
    return files


def run_python(vector: dict, bundles: dict, folder: Path) -> dict:
    """``verify --qr PAYLOAD --trust BUNDLE`` as the library does it, in ``folder``."""
    from certcli.verification.checks import Context, verify_qr

    bundle = bundles[vector["bundle"]]
    path = folder / "trust.pem"
    path.write_text(bundle["pem"], encoding="utf-8")
    ledger_dir = pki_ledgers.ledger_dir_beside(path)
    ledger_dir.mkdir(exist_ok=True)
    for old in ledger_dir.iterdir():
        old.unlink()
    for name, data in ledger_files(bundle, vector.get("ledgers", "all")).items():
        (ledger_dir / name).write_bytes(data)
    parsed = tb.parse_trust_bundle(bundle["pem"])
    age = vector.get("max_bundle_age_seconds")
    context = Context(parsed.root, parsed.public_keys(), None, bundle=parsed, ledger_dir=ledger_dir,
                      max_bundle_age=None if age is None else timedelta(seconds=age))
    return outcome(verify_qr(vector["payload"], context, datetime.fromisoformat(vector["now"])))


# --------------------------------------------------------------------------- keys and certificates

@dataclass
class Seal:
    seal_id: str
    name: str
    not_before: datetime
    not_after: datetime
    status: str = "active"
    rotated_at: datetime | None = None
    retired_at: datetime | None = None
    qualifications: tuple[str, ...] = ()
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    cert: x509.Certificate | None = None
    ledger: list[str] = field(default_factory=list)    # signed digests (hex) the issuer recorded

    @property
    def key_id(self) -> str:
        return pki.key_id_of(self.key.public_key())

    @property
    def info(self) -> pki.SealInfo:
        return replace(pki.info_from_cert(self.cert, self.seal_id, self.status, self.retired_at, self.rotated_at),
                       name=self.name)

    def closed(self, now: datetime) -> bool:
        return self.status in ("rotated", "retired") or self.cert.not_valid_after_utc <= now


class Issuer:
    def __init__(self):
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = pki._name("certcli Test Root CA", "certcli Test Root CA")
        start = datetime(2025, 1, 1, tzinfo=UTC)
        self.cert = pki._build_cert(subject=name, issuer=name, public_key=self.key.public_key(), signing_key=self.key,
                                    not_before=start, not_after=start.replace(year=2045), ca=True,
                                    issuer_public_key=self.key.public_key())

    def certify(self, seal: Seal) -> Seal:
        seal.cert = pki._build_cert(subject=pki._name(seal.name, seal.name), issuer=self.cert.subject,
                                    public_key=seal.key.public_key(), signing_key=self.key,
                                    not_before=seal.not_before, not_after=seal.not_after, ca=False,
                                    issuer_public_key=self.key.public_key())
        return seal

    def bundle(self, seals: list[Seal], *, revoked=(), issued_at=ISSUED_AT, days=7) -> dict:
        entries, ledgers = [], {}
        for seal in seals:
            reference = None
            if seal.closed(issued_at):
                table = b"".join(sorted({pki_ledgers.ledger_entry(digest) for digest in seal.ledger}))
                reference = pki_ledgers.LedgerRef(seal.key_id, len(table) // pki_ledgers.LEDGER_ENTRY_BYTES,
                                                  hashlib.sha256(table).hexdigest())
                ledgers[pki_ledgers.ledger_file_name(seal.key_id)] = base64.b64encode(table).decode("ascii")
            entries.append(tb.SealEntry(seal.info, seal.cert, seal.qualifications, reference))
        root_key_id = pki.key_id_of(self.key.public_key())
        text = tb.build_bundle(self.cert, entries, revoked=[tb.revocation_entry(root_key_id, n) for n in revoked],
                               issued_at=issued_at, next_update=issued_at + timedelta(days=days),
                               sign=lambda data: self.key.sign(data, ec.ECDSA(hashes.SHA256())))
        tb.parse_trust_bundle(text)    # what we wrote must read back
        return {"pem": text, "ledgers": ledgers}


def payload(seal: Seal, number: str, code: str, name: str = "王**", signed_at: datetime | None = None,
            until: datetime | None = None, kind: str = "q", extra=(), record: bool = True) -> str:
    claims = qrpayload.QrClaims(certificate_no=number, qualification_code=code, masked_name=name,
                                valid_from=signed_at if until is not None else None, valid_until=until,
                                key_id=seal.key_id, kind=kind, extra=tuple(extra))
    text = qrpayload.encode(claims, seal.key)
    if record:
        seal.ledger.append(qrpayload.signed_digest(text))
    return text


def raw_payload(seal: Seal, body: bytes) -> str:
    """A payload signed over any body (a malformed one included), low-S as encode() writes it."""
    der = seal.key.sign(qrpayload.PREFIX.encode() + body, ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    s = min(s, N - s)
    return qrpayload.PREFIX + base64.b32encode(body + r.to_bytes(32, "big") + s.to_bytes(32, "big")) \
        .decode().rstrip("=")


def body_of(seal: Seal, *fields: bytes, kind: bytes = b"q") -> bytes:
    return kind + bytes.fromhex(seal.key_id) + b"".join(bytes([len(f)]) + f for f in fields)


def high_s(text: str) -> str:
    blob = base64.b32decode(text[4:] + "=" * (-len(text[4:]) % 8))
    body, r, s = blob[:-64], blob[-64:-32], int.from_bytes(blob[-32:], "big")
    return "CC1:" + base64.b32encode(body + r + (N - s).to_bytes(32, "big")).decode().rstrip("=")


def changed(text: str, at: int) -> str:
    """One character changed, to another of the base32 alphabet."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    return text[:at] + alphabet[(alphabet.index(text[at]) + 1) % 32] + text[at + 1:]


# --------------------------------------------------------------------------- the vectors

def build() -> dict:
    issuer = Issuer()
    d = lambda text: datetime.fromisoformat(text)  # noqa: E731
    ministry = issuer.certify(Seal("ministry", pki.MINISTRY_SEAL_NAME, d("2025-06-01T00:00:00+00:00"),
                                   d("2035-06-01T00:00:00+00:00"),
                                   qualifications=("AUD", "ECO", "QZZZZZ")))
    association = issuer.certify(Seal("association-cpa", "中国注册会计师协会电子证书专用章",
                                      d("2025-06-01T00:00:00+00:00"), d("2035-06-01T00:00:00+00:00"),
                                      qualifications=("QABAAB", "TAX")))
    rotated = issuer.certify(Seal("ministry", pki.MINISTRY_SEAL_NAME, d("2024-06-01T00:00:00+00:00"),
                                  d("2034-06-01T00:00:00+00:00"), status="rotated",
                                  rotated_at=d("2026-01-01T00:00:00+00:00"), qualifications=("AUD", "ECO")))
    retired = issuer.certify(Seal("association-tax", "中国注册税务师协会电子证书专用章",
                                  d("2024-06-01T00:00:00+00:00"), d("2034-06-01T00:00:00+00:00"),
                                  status="retired", retired_at=d("2026-02-01T00:00:00+00:00"),
                                  qualifications=("TAX",)))
    expired = issuer.certify(Seal("exam-board", "考试中心电子证书专用章", d("2016-01-01T00:00:00+00:00"),
                                  d("2026-02-01T00:00:00+00:00"), qualifications=("ECO",)))
    early = issuer.certify(Seal("future-seal", "新印章电子证书专用章", d("2026-06-01T00:00:00+00:00"),
                                d("2036-06-01T00:00:00+00:00"), qualifications=("ECO",)))
    stranger = issuer.certify(Seal("stranger", "不在信任包中的印章", d("2025-06-01T00:00:00+00:00"),
                                   d("2035-06-01T00:00:00+00:00"), qualifications=("ECO",)))

    until = cst("2026-03-31T00:00:00")
    signed = cst("2026-03-01T09:30:00")
    vectors: list[dict] = []

    def add(name, note, text, *, now=NOW, bundle="main", ledgers="all", max_age=None):
        vectors.append({"name": name, "note": note, "bundle": bundle, "payload": text, "now": now.isoformat(),
                        "ledgers": ledgers, "max_bundle_age_seconds": max_age})

    annotation = payload(ministry, "2022ECO110100001", "ECO", signed_at=signed, until=until)
    add("annotation_valid", "an annotation document in its window, signed by the active key", annotation)
    add("annotation_last_second", "one second before the end of its window",
        annotation, now=until - timedelta(seconds=1))
    add("annotation_expired", "at the exclusive end of its window", annotation, now=until)
    add("annotation_not_yet_valid", "before its signing time (valid_from)",
        payload(ministry, "2022ECO110100001", "ECO", signed_at=cst("2026-03-01T11:00:00"), until=until))
    add("window_too_long", "a window of more than 90 days: never made by the issuer",
        payload(ministry, "2022ECO110100001", "ECO", signed_at=signed, until=cst("2026-06-01T00:00:00")))
    add("exempt_valid", "an exempt copy: no annotation window", payload(ministry, "2022ECO110100001", "ECO"))
    add("unknown_qualification_code", "a code the catalog has no name for: the fact carries the code only",
        payload(ministry, "2022ECO110100009", "QZZZZZ", name="John ****"))
    member_extra = (("approval_no", "京注协〔2021〕15号"), ("mobile", "13800138000"),
                    ("email", "zhao@example.cn"),
                    ("birth_date", "1990-03-07"), ("inspection", "2025"),
                    ("transfers", "2023-05-01 北京→新疆维吾尔自治区"))
    add("member_certificate_all_details", "a member certificate disclosing every detail (kind m)",
        payload(association, "2021CPA110000001", "QABAAB", name="赵*", kind="m", extra=member_extra))
    add("seal_not_for_qualification", "the ministry key signs a qualification its seal may not sign",
        payload(ministry, "2019TAX310100003", "TAX"))
    add("revoked", "a certificate on the bundle's revocation list",
        payload(ministry, REVOKED_NO, "AUD", name="李*", signed_at=signed, until=until))
    add("bundle_past_next_update", "valid, with the warning that the bundle is past its next update",
        payload(ministry, "2022ECO110100001", "ECO"), now=cst("2026-03-09T10:00:00"))
    add("bundle_stale", "older than the maximum bundle age the verifier was given",
        payload(ministry, "2022ECO110100001", "ECO"), now=cst("2026-03-05T10:00:00"), max_age=2 * 86400)
    add("bundle_age_within_limit", "younger than the maximum bundle age",
        payload(ministry, "2022ECO110100001", "ECO"), now=cst("2026-03-02T10:00:00"), max_age=2 * 86400)
    add("unknown_signing_key", "signed by a key the bundle does not list",
        payload(stranger, "2022ECO110100001", "ECO"))

    # a rotated key: what the issuer recorded counts, nothing else
    in_ledger = payload(rotated, "2022ECO110100001", "ECO", signed_at=cst("2025-12-15T10:00:00"),
                        until=cst("2026-03-14T00:00:00"))
    add("rotated_key_in_ledger", "signed before the rotation and recorded in the key's ledger", in_ledger)
    add("rotated_key_ledger_missing", "the closed key's ledger file is not there", in_ledger, ledgers="none")
    add("rotated_key_ledger_mismatch", "the ledger file is not the one the bundle committed to", in_ledger,
        ledgers="tampered")
    add("rotated_key_not_in_ledger", "signed before the rotation but never recorded",
        payload(rotated, "2022ECO110100001", "ECO", signed_at=cst("2025-12-20T10:00:00"),
                until=cst("2026-03-15T00:00:00"), record=False))
    add("rotated_key_after_rotation", "a signing time after the rotation (+1 h grace), not recorded",
        payload(rotated, "2022ECO110100001", "ECO", signed_at=cst("2026-01-02T10:00:00"),
                until=cst("2026-03-30T00:00:00"), record=False))
    add("rotated_key_after_rotation_recorded", "after the rotation, yet recorded: the issuer's record wins",
        payload(rotated, "2022ECO110100001", "ECO", signed_at=cst("2026-01-05T10:00:00"),
                until=cst("2026-03-30T00:00:00")))
    # a retired (compromised) key
    add("retired_key_in_ledger", "signed before the compromise and recorded",
        payload(retired, "2019TAX310100003", "TAX", signed_at=cst("2026-01-10T10:00:00"),
                until=cst("2026-04-09T00:00:00")))
    add("retired_key_not_in_ledger", "signed before the compromise by its own account, never recorded",
        payload(retired, "2019TAX310100003", "TAX", signed_at=cst("2026-01-20T10:00:00"),
                until=cst("2026-04-19T00:00:00"), record=False))
    add("retired_key_after_compromise", "a signing time after the compromise",
        payload(retired, "2019TAX310100003", "TAX", signed_at=cst("2026-02-10T10:00:00"),
                until=cst("2026-05-10T00:00:00"), record=False))
    add("retired_key_exempt_recorded", "an exempt copy (no signing time) the issuer recorded",
        payload(retired, "2019TAX310100003", "TAX"))
    # seal certificates out of their validity
    add("seal_expired_signed_while_valid", "the seal certificate has expired, but the document was signed while "
        "it was valid and is in the key's ledger: valid (the chain model)",
        payload(expired, "2022ECO110100001", "ECO", signed_at=cst("2026-01-15T10:00:00"),
                until=cst("2026-04-15T00:00:00")))
    add("seal_expired", "the seal certificate has expired and the document is not in the key's ledger",
        payload(expired, "2022ECO110100001", "ECO", signed_at=cst("2026-01-16T10:00:00"),
                until=cst("2026-04-16T00:00:00"), record=False))
    exempt_expired = payload(expired, "2022ECO110100001", "ECO")
    add("root_expired_bundle_signed_before", "years later the root has ended too: a bundle it signed while in "
        "force still vouches for the recorded exempt copy", exempt_expired, now=cst("2046-06-01T10:00:00"))
    add("root_expired_bundle_signed_after", "the same, with a bundle signed after the root had ended: it proves "
        "nothing", exempt_expired, now=cst("2046-06-01T10:00:00"), bundle="after_root")
    add("seal_not_yet_valid", "the seal certificate starts later", payload(early, "2022ECO110100001", "ECO"))
    add("seal_not_valid_at_signing", "signed before the seal certificate's start",
        payload(early, "2022ECO110100001", "ECO", signed_at=signed, until=until))

    # tampering and malformed input
    add("one_character_changed_in_body", "one base32 character of the signed body changed",
        changed(annotation, 30))
    add("one_character_changed_in_signature", "one base32 character of the signature changed",
        changed(annotation, len(annotation) - 20))
    add("one_character_changed_in_key_id", "one base32 character of the key id changed", changed(annotation, 6))
    add("last_character_changed", "the last character changed (its spare bits are not zero, or the signature)",
        changed(annotation, len(annotation) - 1))
    add("lower_case", "lower-cased: not the canonical encoding", "CC1:" + annotation[4:].lower())
    add("trailing_character", "one character appended", annotation + "A")
    add("padded", "base32 padding added", annotation + "=" * (-len(annotation[4:]) % 8 or 8))
    add("high_s_signature", "the same signature with s replaced by n - s (not low-S)", high_s(annotation))
    add("truncated", "the last eight characters cut", annotation[:-8])
    add("url_form", "a whole URL: the page and verify --qr take the payload out first (see scanned)",
        "https://verify.example.cn/v#" + annotation)
    add("empty", "nothing at all", "")
    add("garbage", "not a certcli QR code", "https://example.com/")
    add("prefix_only", "the prefix alone", "CC1:")
    add("too_long", "over 2000 characters", "CC1:" + "A" * 2000)
    add("signed_bad_field_count", "a valid signature over a body with a field missing",
        raw_payload(ministry, body_of(ministry, b"2022ECO110100001", b"ECO", "王**".encode(), b"")))
    add("signed_bad_utf8", "a valid signature over a field that is not UTF-8",
        raw_payload(ministry, body_of(ministry, b"2022ECO\xff", b"ECO", "王**".encode(), b"", b"")))
    add("signed_bad_time", "a valid signature over a 3-byte time field",
        raw_payload(ministry, body_of(ministry, b"2022ECO110100001", b"ECO", "王**".encode(), b"abc", b"")))
    add("signed_truncated_field", "a valid signature over a field longer than the body",
        raw_payload(ministry, body_of(ministry, b"2022ECO110100001", b"ECO", "王**".encode(), b"", b"")
                    + b"\x09ab"))
    add("signed_empty_extra_key", "a valid signature over an extra detail without a key",
        raw_payload(ministry, body_of(ministry, b"2022ECO110100001", b"ECO", "王**".encode(), b"", b"", b"",
                                      b"x")))
    add("signed_unknown_kind", "a valid signature over a body of an unknown kind",
        raw_payload(ministry, body_of(ministry, b"2022ECO110100001", b"ECO", "王**".encode(), b"", b"",
                                      kind=b"x")))

    main = issuer.bundle([ministry, association, rotated, retired, expired, early], revoked=[REVOKED_NO])
    after_root = issuer.bundle([ministry, expired], issued_at=cst("2045-06-01T10:00:00"), days=366)
    bundles = {"main": main, "after_root": after_root}
    bad = bad_bundles(main["pem"], issuer, ministry)
    scanned = [{"scanned": text, "payload": qrpayload.payload_of(text)} for text in (
        annotation, "https://verify.example.cn/v#" + annotation, "HTTPS://VERIFY.EXAMPLE.CN/V#" + annotation,
        "http://127.0.0.1:8765/v#" + annotation, "https://verify.example.cn/#" + annotation + "#x",
        "ftp://verify.example.cn/v#" + annotation, "verify.example.cn/v#" + annotation, "", "#" + annotation)]
    with tempfile.TemporaryDirectory() as folder:
        for vector in vectors:
            vector["expected"] = run_python(vector, bundles, Path(folder))
    return {"about": __doc__.split("\n\n")[1].replace("\n", " "), "format": 1, "bundles": bundles,
            "vectors": vectors, "bad_bundles": bad, "scanned": scanned}


def bad_bundles(text: str, issuer: Issuer, seal: Seal) -> list[dict]:
    """Edited bundles, each with the reason parse_trust_bundle refuses it for."""
    from certcli.errors import BadTrustBundle

    lines = text.split("\n")

    def block(kind: str) -> tuple[int, int]:
        start = lines.index(f"-----BEGIN {kind}-----")
        return start, lines.index(f"-----END {kind}-----", start)

    def rewrite(kind: str, change) -> str:
        start, end = block(kind)
        data = change(base64.b64decode("".join(lines[start + 1:end])))
        encoded = base64.b64encode(data).decode()
        return "\n".join(lines[:start + 1] + [encoded[i:i + 64] for i in range(0, len(encoded), 64)] + lines[end:])

    manifest_start, manifest_end = block("CERTCLI TRUST MANIFEST")
    manifest = base64.b64decode("".join(lines[manifest_start + 1:manifest_end]))
    other = issuer.certify(Seal("ministry", pki.MINISTRY_SEAL_NAME, seal.not_before, seal.not_after))
    seal_pem = base64.b64encode(seal.cert.public_bytes(serialization.Encoding.DER)).decode()
    other_pem = base64.b64encode(other.cert.public_bytes(serialization.Encoding.DER)).decode()

    def high_s_signature(der: bytes) -> bytes:
        r, s = decode_dss_signature(der)
        return encode_dss_signature(r, N - s)

    cases = {
        "manifest_byte_changed": rewrite("CERTCLI TRUST MANIFEST",
                                         lambda m: m.replace(b'"count":1', b'"count":0', 1)),
        "high_s_signature": rewrite("CERTCLI TRUST SIGNATURE", high_s_signature),
        "seal_certificate_swapped": text.replace("\n".join(seal_pem[i:i + 64] for i in range(0, len(seal_pem), 64)),
                                                 "\n".join(other_pem[i:i + 64] for i in range(0, len(other_pem), 64))),
        "revocation_list_emptied": rewrite("CERTCLI REVOCATION LIST", lambda b: b[:4]),
        "comment_edited": text.replace("# status: rotated", "# status: active", 1),
        "comment_removed": text.replace("# fetch a new one by next_update.\n", "", 1),
        "line_added": text + "extra\n",
        "unsigned": "\n".join(lines[:manifest_start]) + "\n",
        "private_key_inside": text + "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n",
        "empty": "",
    }
    assert manifest and cases["seal_certificate_swapped"] != text
    out = []
    for name, bad in cases.items():
        try:
            tb.parse_trust_bundle(bad)
        except BadTrustBundle as error:
            out.append({"name": name, "pem": bad, "reason": error.data["reason"]})
        else:
            raise AssertionError(f"{name}: the Python parser accepted it")
    return out


def main() -> None:
    document = build()
    OUT_FILE.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT_FILE} ({len(document['vectors'])} vectors, {len(document['bad_bundles'])} bad bundles)")


if __name__ == "__main__":
    main()
