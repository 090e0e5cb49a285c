"""Verification of a signed PDF, a QR payload, or a number + name (SPEC §4, §5).

Fail closed: a verdict is "valid" only when every check passed; a check that
cannot be made fails (or, after an earlier failure, is reported as skipped).
Every check has a stable name and every outcome a stable reason code; the
labels and plain-language explanations live here in Chinese and English.

Trust comes from the home's keys or from a public trust bundle; the store,
when present, adds the certificate's current status.  The PDF checks are in
:mod:`certcli.verification.pdf`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from certcli import i18n, rules
from certcli.errors import BadInput, CertcliError, KeyProblem
from certcli.home import keys_dir, store_file
from certcli.store import RowQueries

MAX_PDF_BYTES = 20 * 2**20
# Longest honest annotation: applied on day D for 90 days, signed no earlier than
# the start of day D, usable until the start of day D+90 (R2).
MAX_WINDOW = timedelta(days=rules.MAX_ANNOTATION_DAYS)
# A rotated key's signatures count until its rotation, plus this long: an `admin
# process` run that loaded the key just before the rotation finishes its batch.
ROTATION_GRACE = timedelta(hours=1)

QR_CHECKS = ("qr_signature", "seal_key", "certificate_status", "annotation_window")


def cst_text(instant: datetime | None) -> str:
    return "" if instant is None else instant.astimezone(rules.CST).strftime("%Y-%m-%d %H:%M") + " (UTC+8)"


def _text(prefix: str, code: str, lang: str) -> str:
    """The catalog's words for a check or reason code; the code itself if it has none."""
    return i18n.words(f"{prefix}.{code}", lang, code)


@dataclass
class Check:
    name: str
    ok: bool | None  # None: not checked
    reason: str = "ok"
    detail: str = ""

    def label(self, lang: str) -> str:
        return _text("check", self.name, lang)

    def explain(self, lang: str) -> str:
        return f"{_text('reason', self.reason, lang)} {self.detail}".strip()


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
        if not self.valid:
            return i18n.t("verdict.not_valid", lang, reason=_text("reason", self.reason, lang))
        if self.kind == "lookup":
            return i18n.t("verdict.lookup_valid", lang)
        what = i18n.t("verdict.pdf_valid" if self.kind == "pdf" else "verdict.qr_valid", lang)
        until = self.facts.get("valid_until")
        if isinstance(until, datetime):
            what += i18n.t("verdict.valid_until", lang, until=cst_text(until))
        else:
            what += i18n.t("verdict.no_annotation", lang)
        if any(c.reason in ("no_store", "not_in_store") for c in self.checks):
            what += i18n.t("verdict.revocation_unchecked", lang)
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
            path = store_file(home)
            return ReadOnlyStore(path) if path.is_file() else None

        if trust is not None:
            from certcli.pki.trust_bundle import parse_trust_bundle

            try:
                with open(trust, "rb") as handle:
                    raw = handle.read(2**20 + 1)
            except OSError as error:
                raise BadInput(field="--trust", reason=error.strerror or "unreadable") from None
            if len(raw) > 2**20:
                raise BadInput(field="--trust", reason="not a trust bundle (too large)")
            bundle = parse_trust_bundle(raw.decode("utf-8", errors="replace"))
            return cls(bundle.root, bundle.public_keys(), store())
        from certcli.pki.keys import IssuerKeys

        keys = IssuerKeys(keys_dir(home))
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
        raise KeyProblem(reason="no_store")
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
    (``certcli.membership.service.paper_member_status``)."""
    from certcli.membership.service import paper_member_status

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
    from certcli.documents import qrpayload

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
    from certcli.verification.pdf import verify_pdf as run

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
    from certcli.verification.pdf import locate_signature

    found = locate_signature(data)
    return (True, "ok") if found.reason == "ok" else (False, found.reason)
