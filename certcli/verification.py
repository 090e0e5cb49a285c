"""Verification of a signed PDF, a QR payload, or a number + name (SPEC §4, §5).

Fail closed: a verdict is "valid" only when every check passed; a check that
cannot be made fails (or, after an earlier failure, is reported as skipped).
Every check has a stable name and every outcome a stable reason code; the
labels and plain-language explanations live here in Chinese and English.

Trust comes from the home's keys or from a public trust bundle; the store,
when present, adds the certificate's current status.  The PDF checks are in
:mod:`certcli.verification_pdf`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from certcli import rules
from certcli.errors import BadInput, CertcliError, KeyProblem
from certcli.store import STORE_FILENAME, RowQueries

MAX_PDF_BYTES = 20 * 2**20
# Longest honest annotation: applied on day D for 90 days, signed no earlier than
# the start of day D, usable until the start of day D+90 (R2).
MAX_WINDOW = timedelta(days=rules.MAX_ANNOTATION_DAYS)
# A rotated key's signatures count until its rotation, plus this long: an `admin
# process` run that loaded the key just before the rotation finishes its batch.
ROTATION_GRACE = timedelta(hours=1)

CHECK_LABELS = {
    "pdf_structure": ("文件格式", "File format"),
    "byte_range": ("签名位置", "Signature placement"),
    "coverage": ("签名覆盖整个文件", "Signature covers the whole file"),
    "signature": ("数字签名", "Digital signature"),
    "signer_chain": ("签发机构", "Issuer"),
    "seal_key": ("电子印章密钥", "Seal key"),
    "certification": ("认证签名（禁止修改）", "Certified, no changes allowed"),
    "qr_signature": ("证书数据（二维码）", "Certificate data (QR)"),
    "certificate_status": ("证书状态", "Certificate status"),
    "annotation_window": ("加注有效期", "Annotation window"),
    "lookup": ("证书查验", "Certificate lookup"),
}

# reason code -> (zh, en): short enough to follow "NOT VALID:" in the verdict line.
REASONS = {
    "ok": ("通过", "passed"),
    "skipped": ("未检查", "not checked"),
    "no_store": ("未检查：本机没有证书数据库", "not checked: no certificate store here"),
    "not_in_store": ("未检查：本机数据库中没有该证书", "not checked: this store does not hold the certificate"),
    # the file
    "not_a_pdf": ("不是 PDF 文件", "not a PDF file"),
    "too_large": ("文件过大，不是证书文件", "file too large to be a certificate"),
    "truncated": ("文件不完整（被截断）", "the file is incomplete (truncated)"),
    "encrypted": ("文件被加密，证书文件不会加密", "the file is encrypted; certificates never are"),
    "unreadable_pdf": ("PDF 文件损坏，无法读取", "the PDF is damaged and cannot be read"),
    "stream_too_large": ("文件含有异常巨大的压缩数据", "the file holds abnormally large compressed data"),
    "unsupported_structure": ("文件结构不是签发系统生成的", "the file structure is not what the issuer produces"),
    # where the signature sits
    "unsigned": ("没有数字签名", "no digital signature"),
    "multiple_signatures": ("含有多个签名，疑似伪造", "more than one signature: likely forged"),
    "bad_byte_range": ("签名范围被篡改", "the signed range was tampered with"),
    "contents_missing": ("签名数据被删除或清空", "the signature data was removed or emptied"),
    "incremental_update": ("签名后被修改（追加了新内容）", "changed after signing (content was appended)"),
    "trailing_data": ("签名后在文件末尾追加了数据", "changed after signing (bytes added at the end)"),
    "uncovered_bytes": ("部分内容未被签名保护", "part of the file is not protected by the signature"),
    # the signature itself
    "signature_broken": ("签名后被修改", "changed after signing"),
    "bad_signature_container": ("签名数据损坏或被改动", "the signature data is damaged or altered"),
    "signature_invalid": ("签名值错误：伪造或被改动", "the signature value is wrong: forged or altered"),
    # who signed
    "untrusted_signer": ("不是签发机构签名的", "not signed by the issuer"),
    "unknown_seal_key": ("印章密钥不在信任包中（请使用更新的信任包）",
                         "signed with a seal key the trust bundle does not list (get a newer bundle)"),
    "seal_expired": ("电子印章证书已过期，文件随之失效", "the seal certificate has expired, and the document with it"),
    "seal_not_yet_valid": ("电子印章证书尚未生效", "the seal certificate is not valid yet"),
    "seal_not_valid_at_signing": ("签署时电子印章证书不在有效期内", "the seal certificate was not valid when it signed"),
    "seal_compromised": ("印章密钥已注销：该文件签署于密钥泄露之后", "the seal key was retired: signed after it was compromised"),
    "seal_rotated": ("印章密钥已更换：该文件签署于旧密钥停用之后", "signed by a seal key after it was replaced by a newer one"),
    "not_certified": ("不是禁止修改的认证签名", "not a no-changes certification signature"),
    "modified": ("签名后被修改", "changed after signing"),
    # what the document says
    "missing_qr": ("缺少证书二维码数据", "the certificate QR data is missing"),
    "qr_mismatch": ("二维码数据与签名不符", "the QR data does not match the signature"),
    "not_a_certcli_qr": ("不是 certcli 证书二维码", "not a certcli certificate QR code"),
    "qr_signature_invalid": ("二维码签名无效：内容被篡改或伪造", "the QR signature is invalid: altered or forged"),
    "unknown_signing_key": ("二维码由未知密钥签名", "the QR code was signed by an unknown key"),
    "certificate_revoked": ("证书已撤销", "the certificate has been revoked"),
    "annotation_expired": ("加注件已过期", "the annotation has expired"),
    "not_yet_valid": ("加注尚未生效", "the annotation is not valid yet"),
    "window_too_long": ("加注有效期超过 90 天，疑似伪造", "the annotation window exceeds 90 days: likely forged"),
    "no_annotation": ("无需加注", "no annotation needed"),
    "not_found": ("证书编号与姓名不符或证书不存在", "no certificate with that number and name"),
}

QR_CHECKS = ("qr_signature", "seal_key", "certificate_status", "annotation_window")


def cst_text(instant: datetime | None) -> str:
    return "" if instant is None else instant.astimezone(rules.CST).strftime("%Y-%m-%d %H:%M") + " (UTC+8)"


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[0] if lang == "zh" else pair[1]


@dataclass
class Check:
    name: str
    ok: bool | None  # None: not checked
    reason: str = "ok"
    detail: str = ""

    def label(self, lang: str) -> str:
        return _pick(CHECK_LABELS.get(self.name, (self.name, self.name)), lang)

    def explain(self, lang: str) -> str:
        text = _pick(REASONS.get(self.reason, (self.reason, self.reason)), lang)
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

    @property
    def reason(self) -> str:
        """The first failing check's reason, or ``ok``."""
        return next((c.reason for c in self.checks if c.ok is False), "ok" if self.valid else "skipped")

    def add(self, name: str, ok: bool | None, reason: str = "ok", detail: str = "") -> bool:
        self.checks.append(Check(name, ok, reason, detail))
        return bool(ok)

    def get(self, name: str) -> Check | None:
        return next((c for c in self.checks if c.name == name), None)

    def skip_rest(self, names) -> "Verdict":
        """Report every check not made yet as skipped, so --json always lists them
        all, in the order of ``names``."""
        done = {c.name for c in self.checks}
        self.checks += [Check(name, None, "skipped") for name in names if name not in done]
        order = {name: i for i, name in enumerate(names)}
        self.checks.sort(key=lambda c: order.get(c.name, len(order)))
        return self

    def sentence(self, lang: str) -> str:
        """One line a non-expert understands: the verdict and why."""
        zh = lang == "zh"
        if not self.valid:
            return ("无效：" if zh else "NOT VALID: ") + _pick(REASONS.get(self.reason, (self.reason,) * 2), lang)
        if self.kind == "lookup":
            return "有效：证书存在且状态有效" if zh else "VALID: the certificate exists and is in force"
        what = ("有效：签发机构签发的真实证书，签名后未被修改" if zh else
                "VALID: a genuine certificate signed by the issuer, unchanged since signing") \
            if self.kind == "pdf" else ("有效：二维码由签发机构签名，内容未被修改" if zh else
                                        "VALID: the QR code is signed by the issuer and unaltered")
        until = self.facts.get("valid_until")
        if isinstance(until, datetime):
            what += f"；加注有效期至 {cst_text(until)}" if zh else f"; annotation valid until {cst_text(until)}"
        else:
            what += "；无需加注" if zh else "; no annotation needed"
        if any(c.reason in ("no_store", "not_in_store") for c in self.checks):
            what += "（未核对是否撤销）" if zh else " (revocation not checked here)"
        return what

    def to_json(self, lang: str = "en") -> dict:
        return {"valid": self.valid, "kind": self.kind, "reason": self.reason, "verdict": self.sentence(lang),
                "facts": self.facts,
                "checks": [{"name": c.name, "ok": c.ok, "reason": c.reason, "detail": c.detail} for c in self.checks]}


class ReadOnlyStore(RowQueries):
    """The store, opened read-only for the few lookups verification makes.

    Verifying never writes: no WAL set-up, no migration, nothing created.  A
    damaged or foreign file surfaces as ``sqlite3.Error``, which the CLI
    reports as ``store_corrupt``.
    """

    def __init__(self, path: Path):
        import sqlite3

        self.conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)

    def close(self) -> None:
        self.conn.close()


@dataclass
class Context:
    """What a verifier trusts: a root and seal keys, and optionally the store."""

    root: object | None
    seal_keys: dict  # key_id -> (SealInfo, public key)
    store: object | None
    _cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, home: Path, trust: Path | None) -> "Context":
        def store():
            path = Path(home) / STORE_FILENAME
            return ReadOnlyStore(path) if path.is_file() else None

        if trust is not None:
            from certcli.trust_bundle import parse_trust_bundle

            try:
                with open(trust, "rb") as handle:
                    raw = handle.read(2**20 + 1)
            except OSError as error:
                raise BadInput(field="--trust", reason=error.strerror or "unreadable") from None
            if len(raw) > 2**20:
                raise BadInput(field="--trust", reason="not a trust bundle (too large)")
            bundle = parse_trust_bundle(raw.decode("utf-8", errors="replace"))
            return cls(bundle.root, bundle.public_keys(), store())
        from certcli.keys import IssuerKeys

        keys = IssuerKeys(Path(home) / "keys")
        if not keys.exists():
            return cls(None, {}, store())
        root, seal_keys = keys.root_certificate(), keys.public_keys()
        return cls(root, seal_keys, store())

    def require_trust(self) -> None:
        if self.root is None:
            raise KeyProblem(reason="no trust: give --trust BUNDLE or use a home with keys")

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None


# --- number + name -----------------------------------------------------------

def verify_lookup(context: Context, number: str, name: str, now: datetime) -> Verdict:
    """The public 证书查验.  A wrong name looks exactly like an unknown number (same
    query, same answer); nothing private (ID number, phone, account) is returned."""
    import unicodedata

    verdict = Verdict("lookup")
    if context.store is None:
        raise KeyProblem(reason="no store in this home")
    number = unicodedata.normalize("NFC", (number or "").strip())
    name = unicodedata.normalize("NFC", (name or "").strip())
    row = context.store.one(
        "SELECT certificate_no, kind, qualification, level, issued_on, issuer, status FROM certificates "
        "WHERE certificate_no = ? AND name = ?", (number, name)) if number and name else None
    if row is None:
        verdict.add("lookup", False, "not_found")
        return verdict.skip_rest(("certificate_status",))
    verdict.facts.update({"certificate_no": row["certificate_no"], "name": rules.mask_name(name)})
    verdict.facts.update({k: row[k] for k in ("qualification", "level", "issued_on", "issuer", "status")})
    verdict.add("lookup", True)
    if row["status"] == "revoked":
        verdict.add("certificate_status", False, "certificate_revoked")
    else:
        verdict.add("certificate_status", True)
    if row["kind"] == "membership":
        _membership_lookup(verdict, context, number, name, now)
    return verdict


def _membership_lookup(verdict: Verdict, context: Context, number: str, name: str, now: datetime) -> None:
    """Membership e-certificates add their review and paper-certificate state
    (``certcli.membership.paper_member_status``, labels in ``member_rules``)."""
    try:
        from certcli.member_rules import LOOKUP_CHECK_LABELS, LOOKUP_REASONS
        from certcli.membership import paper_member_status
    except ImportError:                       # a build without the membership module
        return
    CHECK_LABELS.update(LOOKUP_CHECK_LABELS)
    REASONS.update(LOOKUP_REASONS)
    extra = paper_member_status(context.store, number, name, now)
    if extra:
        verdict.facts.update(extra["facts"])
        for check in extra["checks"]:
            verdict.add(*check)


def status_check(verdict: Verdict, context: Context, number: str) -> None:
    if context.store is None:
        verdict.add("certificate_status", None, "no_store")
        return
    row = context.store.one("SELECT status FROM certificates WHERE certificate_no = ?", (number,))
    if row is None:
        verdict.add("certificate_status", None, "not_in_store")
    elif row["status"] == "revoked":
        verdict.add("certificate_status", False, "certificate_revoked")
    else:
        verdict.add("certificate_status", True)


# --- QR ------------------------------------------------------------------------

def qualification_name(code: str) -> str | None:
    from certcli import catalog

    for table in (catalog.MINISTRY_QUALIFICATIONS, catalog.ASSOCIATION_QUALIFICATIONS):
        for name, known in table.items():
            if known == code:
                return name
    return None


def decode_qr(verdict: Verdict, payload, context: Context):
    """The ``qr_signature`` check: returns the claims and the seal they name, or None."""
    from certcli import qrpayload

    try:
        claims = qrpayload.decode(payload, context.seal_keys)
    except CertcliError as error:
        verdict.add("qr_signature", False, error.code)
        return None
    except Exception:  # noqa: BLE001 - hostile input never raises out of verification
        verdict.add("qr_signature", False, "not_a_certcli_qr")
        return None
    info = context.seal_keys[claims.key_id][0]
    verdict.add("qr_signature", True)
    qualification = qualification_name(claims.qualification_code)
    verdict.facts.update({
        "certificate_no": claims.certificate_no, "name": claims.masked_name,
        **({"qualification": qualification} if qualification else {}),
        "qualification_code": claims.qualification_code, "seal": info.name,
        "valid_from": claims.valid_from, "valid_until": claims.valid_until, "key_id": claims.key_id,
        **dict(claims.extra)})
    return claims, info


def verify_qr(payload: str, context: Context, now: datetime, verdict: Verdict | None = None) -> Verdict:
    """Offline: needs only the trust bundle.  The payload is taken exactly as given
    (no trimming), so any edited character makes it not valid."""
    context.require_trust()
    verdict = verdict or Verdict("qr")
    decoded = decode_qr(verdict, payload if isinstance(payload, str) else "", context)
    if decoded is None:
        return verdict.skip_rest(QR_CHECKS)
    claims, info = decoded
    seal_check(verdict, info, claims.valid_from, now)
    status_check(verdict, context, claims.certificate_no)
    window_check(verdict, claims.valid_from, claims.valid_until, now)
    return verdict


def seal_check(verdict: Verdict, info, signed_at: datetime | None, now: datetime) -> None:
    """Was the seal key usable when it signed, and is its certificate still in force?

    A retired key's signatures count only when made before ``retired_at``; with no
    signing time to go by (an exempt QR payload) a retired key proves nothing.  A
    rotated key's count when made before ``rotated_at`` (+ ROTATION_GRACE): a key
    that signs after a newer one took over was not used by the issuer's process.
    """
    rotated_at = info.rotated_at
    if info.retired_at is not None and (signed_at is None or signed_at >= info.retired_at):
        verdict.add("seal_key", False, "seal_compromised", info.key_id)
    elif rotated_at is not None and signed_at is not None and signed_at >= rotated_at + ROTATION_GRACE:
        verdict.add("seal_key", False, "seal_rotated", f"{info.key_id} {cst_text(rotated_at)}")
    elif signed_at is not None and not info.not_before <= signed_at < info.not_after:
        verdict.add("seal_key", False, "seal_not_valid_at_signing", info.key_id)
    elif now >= info.not_after:
        verdict.add("seal_key", False, "seal_expired", f"{info.key_id} {cst_text(info.not_after)}")
    elif now < info.not_before:
        verdict.add("seal_key", False, "seal_not_yet_valid", info.key_id)
    else:
        verdict.add("seal_key", True, detail=info.key_id)


def window_check(verdict: Verdict, valid_from: datetime | None, valid_until: datetime | None,
                 now: datetime) -> None:
    if valid_until is None:
        verdict.add("annotation_window", True, "no_annotation")
    elif valid_from is not None and valid_until - valid_from > MAX_WINDOW:
        verdict.add("annotation_window", False, "window_too_long", cst_text(valid_until))
    elif valid_from is not None and now < valid_from:
        verdict.add("annotation_window", False, "not_yet_valid", cst_text(valid_from))
    elif now >= valid_until:
        verdict.add("annotation_window", False, "annotation_expired", cst_text(valid_until))
    else:
        verdict.add("annotation_window", True, detail=cst_text(valid_until))


# --- PDF (see verification_pdf) ----------------------------------------------------

def verify_pdf(data: bytes, context: Context, now: datetime) -> Verdict:
    from certcli.verification_pdf import verify_pdf as run

    return run(data, context, now)


def verify_pdf_file(path: Path, context: Context, now: datetime) -> Verdict:
    """Read at most ``MAX_PDF_BYTES`` + 1 bytes: a larger file is refused unread."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_PDF_BYTES + 1)
    except OSError as error:
        reason = error.strerror or "unreadable"
        raise BadInput(field=f"PATH ({reason})", reason=reason) from None
    return verify_pdf(data, context, now)


def check_byte_range(data: bytes) -> tuple[bool, str]:
    """Structural check only (no cryptography): ``(True, "ok")`` or ``(False, reason)``."""
    from certcli.verification_pdf import locate_signature

    found = locate_signature(data)
    return (True, "ok") if found.reason == "ok" else (False, found.reason)
