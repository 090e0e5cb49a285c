"""Verification of a signed PDF, a QR payload, or a number + name (SPEC §4, §5).

Fail closed: every check must pass for a "valid" verdict; a check that cannot
be made (unparseable input) fails with a reason.  Trust comes from the home's
keys or from a public trust bundle; the store, when present, adds the
certificate's current status.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from certcli import rules
from certcli.errors import BadInput, CertcliError, KeyProblem

MAX_PDF_BYTES = 20 * 2**20

CHECK_LABELS = {
    "pdf_structure": ("文件结构", "File structure"),
    "byte_range": ("签名范围 /ByteRange", "Signed byte range"),
    "signature": ("数字签名", "Signature intact"),
    "coverage": ("签名覆盖整个文件", "Signature covers the whole file"),
    "certification": ("文档未被修改（认证签名）", "Unmodified since signing (certification)"),
    "signer_chain": ("签名证书链至签发机构根证书", "Signer chains to the issuer root"),
    "seal_key": ("电子印章密钥", "Seal key"),
    "qr_signature": ("二维码签名", "QR signature"),
    "certificate_status": ("证书状态", "Certificate status"),
    "annotation_window": ("加注有效期", "Annotation window"),
    "lookup": ("证书查验", "Certificate lookup"),
}

REASONS = {
    "ok": ("通过", "passed"),
    "not_checked": ("未检查（无数据库）", "not checked (no store)"),
    "not_a_pdf": ("不是 PDF 文件", "not a PDF file"),
    "too_large": ("文件过大", "file too large"),
    "unreadable_pdf": ("PDF 无法解析", "the PDF cannot be parsed"),
    "unsigned": ("没有数字签名", "no digital signature"),
    "multiple_signatures": ("存在多个签名", "more than one signature"),
    "bad_byte_range": ("签名范围 /ByteRange 异常", "malformed /ByteRange"),
    "uncovered_bytes": ("存在未被签名覆盖的内容", "bytes outside the signed range"),
    "signature_broken": ("签名校验失败：内容被修改", "signature does not match: content changed"),
    "not_certified": ("不是禁止修改的认证签名", "not a no-changes certification signature"),
    "modified": ("签名后被修改", "changed after signing"),
    "untrusted_signer": ("签名证书不受信任", "signer not trusted"),
    "unknown_seal_key": ("未知的电子印章密钥", "unknown seal key"),
    "seal_compromised": ("印章密钥在签署时已注销", "seal key retired before signing"),
    "seal_expired": ("电子印章证书已过期", "seal certificate expired"),
    "certificate_revoked": ("证书已撤销", "certificate revoked"),
    "not_found": ("证书编号或姓名不符", "no certificate with that number and name"),
    "annotation_expired": ("加注件已过期", "annotation expired"),
    "no_annotation": ("无需加注", "no annotation needed"),
    "not_a_certcli_qr": ("不是 certcli 证书二维码", "not a certcli QR code"),
    "qr_signature_invalid": ("二维码签名无效", "QR signature invalid"),
    "unknown_signing_key": ("未知签名密钥", "unknown signing key"),
    "qr_mismatch": ("二维码与证书内容不符", "QR does not match the document"),
    "missing_qr": ("缺少二维码数据", "QR data missing"),
}


@dataclass
class Check:
    name: str
    ok: bool | None  # None: not checked
    reason: str = "ok"
    detail: str = ""

    def label(self, lang: str) -> str:
        pair = CHECK_LABELS.get(self.name, (self.name, self.name))
        return pair[0] if lang == "zh" else pair[1]

    def explain(self, lang: str) -> str:
        pair = REASONS.get(self.reason, (self.reason, self.reason))
        text = pair[0] if lang == "zh" else pair[1]
        return f"{text} {self.detail}".strip()


@dataclass
class Verdict:
    kind: str
    checks: list[Check] = field(default_factory=list)
    facts: dict = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return bool(self.checks) and all(c.ok is not False for c in self.checks) and \
            any(c.ok for c in self.checks)

    def add(self, name: str, ok: bool | None, reason: str = "ok", detail: str = "") -> bool:
        self.checks.append(Check(name, ok, reason if ok is not True or reason != "ok" else "ok", detail))
        return bool(ok)

    def to_json(self) -> dict:
        return {"valid": self.valid, "kind": self.kind, "facts": self.facts,
                "checks": [{"name": c.name, "ok": c.ok, "reason": c.reason, "detail": c.detail} for c in self.checks]}


@dataclass
class Context:
    """What a verifier trusts: a root and seal keys, and optionally the store."""

    root: object | None
    seal_keys: dict  # key_id -> (SealInfo, public key)
    store: object | None

    @classmethod
    def load(cls, home: Path, trust: Path | None) -> "Context":
        from certcli.store import STORE_FILENAME, open_store

        store = open_store(home) if (Path(home) / STORE_FILENAME).exists() else None
        if trust is not None:
            from certcli.keys import parse_trust_bundle

            try:
                text = Path(trust).read_text(encoding="utf-8", errors="replace")
            except OSError as error:
                raise BadInput(field="--trust", reason=error.strerror or "unreadable") from None
            bundle = parse_trust_bundle(text)
            return cls(bundle.root, bundle.public_keys(), store)
        from certcli.keys import IssuerKeys

        keys = IssuerKeys(Path(home) / "keys")
        if not keys.exists():
            return cls(None, {}, store)
        return cls(keys.root_certificate(), keys.public_keys(), store)

    def require_trust(self) -> None:
        if self.root is None:
            raise KeyProblem(reason="no trust: give --trust BUNDLE or use a home with keys")


# --- number + name -----------------------------------------------------------

def verify_lookup(context: Context, number: str, name: str, now: datetime) -> Verdict:
    """The public 证书查验: nothing private is revealed, and a wrong name looks
    exactly like an unknown number."""
    verdict = Verdict("lookup")
    if context.store is None:
        raise KeyProblem(reason="no store in this home")
    row = context.store.one(
        "SELECT certificate_no, qualification, level, issued_on, issuer, status, revoked_at FROM certificates "
        "WHERE certificate_no = ? AND name = ?", ((number or "").strip(), (name or "").strip()))
    if row is None:
        verdict.add("lookup", False, "not_found")
        return verdict
    verdict.facts.update({k: row[k] for k in ("certificate_no", "qualification", "level", "issued_on", "issuer",
                                                 "status")})
    verdict.facts["name"] = rules.mask_name(name.strip())
    verdict.add("lookup", True)
    _status_check(verdict, context, number)
    return verdict


def _status_check(verdict: Verdict, context: Context, number: str) -> None:
    if context.store is None:
        verdict.add("certificate_status", None, "not_checked")
        return
    row = context.store.one("SELECT status FROM certificates WHERE certificate_no = ?", (number,))
    if row is None:
        verdict.add("certificate_status", None, "not_checked")
    elif row["status"] == "revoked":
        verdict.add("certificate_status", False, "certificate_revoked")
    else:
        verdict.add("certificate_status", True)


# --- QR ------------------------------------------------------------------------

def verify_qr(payload: str, context: Context, now: datetime, verdict: Verdict | None = None):
    from certcli import qrpayload

    context.require_trust()
    verdict = verdict or Verdict("qr")
    try:
        claims = qrpayload.decode(payload.strip(), context.seal_keys)
    except CertcliError as error:
        verdict.add("qr_signature", False, error.code)
        return verdict
    info = context.seal_keys[claims.key_id][0]
    verdict.add("qr_signature", True)
    verdict.facts.update({
        "certificate_no": claims.certificate_no, "qualification_code": claims.qualification_code,
        "name": claims.masked_name, "valid_from": claims.valid_from, "valid_until": claims.valid_until,
        "key_id": claims.key_id, **dict(claims.extra)})
    _seal_check(verdict, info, claims.valid_from or now, now)
    _status_check(verdict, context, claims.certificate_no)
    _window_check(verdict, claims.valid_until, now)
    return verdict


def _seal_check(verdict: Verdict, info, signed_at: datetime, now: datetime) -> None:
    if info.retired_at is not None and signed_at >= info.retired_at:
        verdict.add("seal_key", False, "seal_compromised", info.key_id)
    elif now >= info.not_after:
        verdict.add("seal_key", False, "seal_expired", info.key_id)
    else:
        verdict.add("seal_key", True, detail=info.key_id)


def _window_check(verdict: Verdict, valid_until: datetime | None, now: datetime) -> None:
    if valid_until is None:
        verdict.add("annotation_window", True, "no_annotation")
    elif now >= valid_until:
        verdict.add("annotation_window", False, "annotation_expired", valid_until.isoformat())
    else:
        verdict.add("annotation_window", True, detail=valid_until.isoformat())


# --- PDF -----------------------------------------------------------------------

_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")


def verify_pdf_file(path: Path, context: Context, now: datetime) -> Verdict:
    try:
        size = Path(path).stat().st_size
        if size > MAX_PDF_BYTES:
            verdict = Verdict("pdf")
            verdict.add("pdf_structure", False, "too_large", f"{size} bytes")
            return verdict
        data = Path(path).read_bytes()
    except OSError as error:
        raise BadInput(field="PATH", reason=error.strerror or "unreadable") from None
    return verify_pdf(data, context, now)


def check_byte_range(data: bytes) -> tuple[bool, str]:
    """Our own structural check, before any parser: exactly one signature whose
    /ByteRange starts at 0, ends at the last byte, and skips only /Contents."""
    ranges = _BYTE_RANGE.findall(data)
    if not ranges:
        return False, "unsigned" if b"/ByteRange" not in data else "bad_byte_range"
    if len(ranges) > 1 or data.count(b"/ByteRange") > 1:
        return False, "multiple_signatures"
    a, b, c, d = (int(x) for x in ranges[0])
    if a != 0 or b <= 0 or c <= b or c + d != len(data):
        return False, "uncovered_bytes" if a == 0 and c + d != len(data) else "bad_byte_range"
    gap = data[b:c]
    if not re.fullmatch(rb"<[0-9a-fA-F]*>", gap):
        return False, "bad_byte_range"
    return True, "ok"


def verify_pdf(data: bytes, context: Context, now: datetime) -> Verdict:
    context.require_trust()
    verdict = Verdict("pdf")
    if not data.startswith(b"%PDF-"):
        verdict.add("pdf_structure", False, "not_a_pdf")
        return verdict
    ok, reason = check_byte_range(data)
    if not verdict.add("byte_range", ok, reason):
        return verdict
    try:
        from certcli.signing import validate_with_pyhanko

        result = validate_with_pyhanko(data, context.root, now)
    except CertcliError:
        verdict.add("pdf_structure", False, "unreadable_pdf")
        return verdict
    except Exception as error:  # noqa: BLE001 - any parser failure on hostile input means "not valid"
        verdict.add("pdf_structure", False, "unreadable_pdf", type(error).__name__)
        return verdict
    if not result.get("signed"):
        verdict.add("signature", False, "unsigned")
        return verdict
    verdict.add("pdf_structure", result["signature_count"] == 1, "ok" if result["signature_count"] == 1
                else "multiple_signatures")
    verdict.add("signature", result["intact"] and result["valid"], "ok" if result["intact"] and result["valid"]
                else "signature_broken")
    entire = result.get("coverage") == "ENTIRE_FILE"
    verdict.add("coverage", entire, "ok" if entire else "uncovered_bytes")
    certified = result.get("certification") and result.get("docmdp") == "NO_CHANGES"
    # pyHanko's bottom line tolerates an appended /Info edit; "unmodified" does not.
    unmodified = bool(result.get("unmodified")) and result.get("docmdp_ok") is not False
    verdict.add("certification", bool(certified and unmodified),
                "ok" if certified and unmodified else ("modified" if certified else "not_certified"))
    verdict.add("signer_chain", result["trusted"], "ok" if result["trusted"] else "untrusted_signer")
    seal = context.seal_keys.get(result.get("signer_key_id"))
    if seal is None:
        verdict.add("seal_key", False, "unknown_seal_key", result.get("signer_key_id") or "")
    else:
        _seal_check(verdict, seal[0], result.get("signing_time") or now, now)
    _qr_in_pdf(verdict, data, context, now, result)
    return verdict


def _qr_in_pdf(verdict: Verdict, data: bytes, context: Context, now: datetime, result: dict) -> None:
    """The annotation window and certificate number come from the signed QR payload
    stored in the (signed) document information dictionary."""
    from io import BytesIO

    from pypdf import PdfReader

    try:
        payload = PdfReader(BytesIO(data)).metadata.get("/CertcliQR")
    except Exception:  # noqa: BLE001 - hostile input
        payload = None
    if not payload:
        verdict.add("annotation_window", False, "missing_qr")
        return
    qr = verify_qr(str(payload), context, now, Verdict("qr"))
    for check in qr.checks:
        if check.name == "seal_key":
            continue
        if check.name == "qr_signature" and check.ok and qr.facts.get("key_id") != result.get("signer_key_id"):
            check.ok, check.reason = False, "qr_mismatch"
        verdict.checks.append(check)
    verdict.facts.update(qr.facts)
