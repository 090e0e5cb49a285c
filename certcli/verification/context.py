"""What verification works with, shared by every stage: the verdict and its
checks, the trust context (root, seal keys, optionally the read-only store),
where a PDF's one signature sits (:class:`Located`) and a failed check
(:class:`Reject`).

A module of its own so that :mod:`~certcli.verification.checks`,
:mod:`~certcli.verification.pdf` and :mod:`~certcli.verification.cms` all
import it and none of them imports another back.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from certcli import i18n, rules
from certcli.errors import BadInput, KeyProblem
from certcli.home import keys_dir, store_file
from certcli.store import RowQueries

MAX_PDF_BYTES = 20 * 2**20


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
                raise BadInput(field="--trust", value=str(trust), reason=error.strerror or "unreadable") from None
            if len(raw) > 2**20:
                raise BadInput(field="--trust", value=str(trust), reason="too_large")
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
            raise KeyProblem(reason="no_trust")

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None


class Located(NamedTuple):
    """Stage 1 of a PDF check: where its one signature sits (see
    :func:`certcli.verification.pdf.locate_signature`)."""

    check: str            # the check that failed, or "" when the structure is sound
    reason: str
    b: int = 0
    c: int = 0
    d: int = 0
    contents: bytes = b""   # the /Contents bytes (hex-decoded, with padding)


class Reject(Exception):
    """A check failed: ``check`` names it, ``reason`` is the stable code."""

    def __init__(self, check: str, reason: str, detail: str = ""):
        super().__init__(reason)
        self.check, self.reason, self.detail = check, reason, detail
