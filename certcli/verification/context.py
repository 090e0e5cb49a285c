"""What verification works with, shared by every stage: the verdict and its
checks, the trust context (root, seal keys, optionally the read-only store of
:mod:`~certcli.verification.readonly`, which only a local verification imports),
where a PDF's one signature sits (:class:`Located`) and a failed check
(:class:`Reject`).

A module of its own so that :mod:`~certcli.verification.checks`,
:mod:`~certcli.verification.pdf` and :mod:`~certcli.verification.cms` all
import it and none of them imports another back.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import NamedTuple

from certcli import i18n, rules
from certcli.errors import BadInput, KeyProblem
from certcli.home import keys_dir, store_file

MAX_PDF_BYTES = 20 * 2**20
MAX_TRUST_BYTES = 2**20
# the checks of a PDF, in the order --json lists them (certcli.verification.pdf makes them)
PDF_CHECKS = ("pdf_structure", "byte_range", "coverage", "signature", "signer_chain", "seal_key",
              "certification", "qr_signature", "issued", "certificate_status", "annotation_window")


def refused_unread(data: bytes) -> str:
    """Why a PDF fails before anything in it is read (``not_a_pdf``, ``too_large``), or "".
    Here, not in :mod:`~certcli.verification.pdf`, so that the remote client refuses an
    oversize file exactly as a local check does without loading the PDF code."""
    if not data.startswith(b"%PDF-"):
        return "not_a_pdf"
    return "too_large" if len(data) > MAX_PDF_BYTES else ""


# why a file cannot be read, as a stable code with words in the catalog (``why.<code>``), never
# the OS's own text (English whatever --lang says)
_OS_REASONS = {"ENOENT": "file_not_found", "ENOTDIR": "file_not_found", "EACCES": "permission_denied",
               "EPERM": "permission_denied", "ELOOP": "symlink_loop", "EISDIR": "not_a_regular_file"}


def os_reason(error: OSError) -> str:
    """The stable reason code of an ``OSError`` met reading a file (``unreadable`` for any other)."""
    import errno

    return _OS_REASONS.get(errno.errorcode.get(error.errno or 0, ""), "unreadable")


def read_regular_file(path: Path, field: str, limit: int) -> bytes:
    """At most ``limit`` bytes of the *regular* file ``path``; :class:`BadInput` for
    anything else.  A FIFO, a device, a socket or a directory is refused at once
    (``not_a_regular_file``), never read: it could block forever or never end.
    ``stat`` first, so nothing odd is even opened; then the file is opened
    non-blocking and its descriptor checked with ``fstat``, so a swap between the
    check and the open (a FIFO put in its place) is caught too."""
    import os
    import stat

    def refuse(reason: str):
        return BadInput(field=field, value=str(path), reason=reason)

    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise refuse("not_a_regular_file")
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
        descriptor = os.open(path, flags)
    except OSError as error:
        raise refuse(os_reason(error)) from None
    with open(descriptor, "rb", closefd=True) as handle:   # owns the descriptor from here
        try:
            if not stat.S_ISREG(os.fstat(descriptor).st_mode):
                raise refuse("not_a_regular_file")
            return handle.read(limit)
        except OSError as error:
            raise refuse(os_reason(error)) from None


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


# reasons whose detail (a file name) the one-line verdict repeats
_NAMED_IN_SENTENCE = frozenset({"ledger_missing", "ledger_mismatch"})


@dataclass
class Verdict:
    kind: str
    checks: list[Check] = field(default_factory=list)
    facts: dict = field(default_factory=dict)
    checked_at: datetime | None = None   # the "now" every check was made at
    clock_overridden: bool = False       # that "now" came from CERTCLI_NOW, not the real clock
    # the signed trust bundle the verdict rests on (verify --trust): its date, and the status as of it
    bundle_issued_at: datetime | None = None
    bundle_next_update: datetime | None = None
    status_as_of: datetime | None = None  # set when the certificate status came from the bundle
    warnings: list = field(default_factory=list)   # (code, data): e.g. the bundle is past next_update

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

    def clock_note(self, lang: str) -> str:
        """"checked as of … (clock overridden)" when the clock was moved, else ""."""
        if not self.clock_overridden or self.checked_at is None:
            return ""
        return i18n.t("verdict.checked_as_of", lang, at=i18n.format_instant(self.checked_at, lang, seconds=True))

    def sentence(self, lang: str) -> str:
        """One line a non-expert understands: the verdict and why."""
        if not self.valid:
            reason = _text("reason", self.reason, lang)
            failed = next((c for c in self.checks if c.ok is False), None)
            if failed is not None and failed.reason in _NAMED_IN_SENTENCE and failed.detail:
                reason += f": {failed.detail}"        # the file a verifier must fetch, right in the verdict
            return i18n.t("verdict.not_valid", lang, reason=reason)
        if self.kind == "lookup":
            return i18n.t("verdict.lookup_valid", lang)
        what = i18n.t("verdict.pdf_valid" if self.kind == "pdf" else "verdict.qr_valid", lang)
        until = self.facts.get("valid_until")
        if isinstance(until, datetime):   # its last usable day, as people read "有效期至"
            what += i18n.t("verdict.valid_until", lang,
                           until=i18n.format_day(rules.valid_through(until), lang, zone=True))
        else:
            what += i18n.t("verdict.no_annotation", lang)
        if any(c.reason in ("no_store", "not_in_store") for c in self.checks):
            what += i18n.t("verdict.revocation_unchecked", lang)
        if self.status_as_of is not None:
            what += i18n.t("verdict.status_as_of", lang, at=i18n.format_instant(self.status_as_of, lang))
        return what

    def to_json(self, lang: str = "en") -> dict:
        return {"valid": self.valid, "kind": self.kind, "reason": self.reason, "verdict": self.sentence(lang),
                "checked_at": self.checked_at.isoformat() if self.checked_at is not None else None,
                "clock_overridden": self.clock_overridden,
                "bundle_issued_at": _iso(self.bundle_issued_at), "bundle_next_update": _iso(self.bundle_next_update),
                "warnings": [{"code": code,
                              "message": i18n.localize_dates(i18n.t(f"warning.{code}", lang, **data), lang)}
                             for code, data in self.warnings],
                "facts": self.facts,
                "checks": [{"name": c.name, "ok": c.ok, "reason": c.reason, "detail": c.detail} for c in self.checks]}


def _iso(instant: datetime | None) -> str | None:
    return None if instant is None else instant.astimezone(rules.CST).isoformat()


def document_notes(document: dict, lang: str) -> list[str]:
    """Lines a person must see under the verdict of a verify document (local or from a
    server): which trust bundle it rests on, and its warnings."""
    notes = []
    issued_at = document.get("bundle_issued_at")
    if isinstance(issued_at, str):
        issued_at = datetime.fromisoformat(issued_at)
    if isinstance(issued_at, datetime):
        notes.append(i18n.t("verdict.bundle_as_of", lang, at=i18n.format_instant(issued_at, lang)))
    notes += [warning.get("message") or warning.get("code", "") for warning in document.get("warnings") or ()]
    return notes


@dataclass
class Context:
    """What a verifier trusts: a root and seal keys, and optionally the store."""

    root: object | None
    seal_keys: dict  # key_id -> (SealInfo, public key)
    store: object | None
    # a signed trust bundle (certcli.pki.trust_bundle.TrustBundle): key history, the qualifications
    # each seal may sign, the revocation list as of its issued_at, closed keys' ledgers (in ledger_dir)
    bundle: object | None = None
    ledger_dir: Path | None = None
    max_bundle_age: timedelta | None = None    # --max-bundle-age: an older bundle makes the status unknown
    _cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, home: Path, trust: Path | None, ledgers: Path | None = None,
             max_bundle_age: timedelta | None = None, shared_store: object | None = None) -> "Context":
        """``shared_store``: an open store to read instead of opening the home's (``certcli
        serve`` reuses its connections across requests); its owner closes it, not :meth:`close`."""
        def store():
            if shared_store is not None:
                return shared_store
            from certcli.home import database_url

            if database_url() is not None:    # --database-url: the shared PostgreSQL store
                from certcli.store import Store

                return Store(None, database_url=database_url())
            path = store_file(home)
            if not path.is_file():
                return None
            from certcli.verification.readonly import ReadOnlyStore   # not in remote mode: no sqlite3

            return ReadOnlyStore(path)

        if trust is not None:
            from certcli.pki.ledgers import ledger_dir_beside
            from certcli.pki.trust_bundle import parse_trust_bundle

            raw = read_regular_file(trust, "--trust", MAX_TRUST_BYTES + 1)   # never a FIFO or device
            if len(raw) > MAX_TRUST_BYTES:
                raise BadInput(field="--trust", value=str(trust), reason="too_large")
            bundle = parse_trust_bundle(raw)
            return cls(bundle.root, bundle.public_keys(), store(), bundle=bundle,
                       ledger_dir=Path(ledgers) if ledgers is not None else ledger_dir_beside(Path(trust)),
                       max_bundle_age=max_bundle_age)
        trusted = issuer_trust(home)
        if trusted is None:
            return cls(None, {}, store())
        root, seal_keys = trusted
        return cls(root, dict(seal_keys), store())

    def require_trust(self) -> None:
        if self.root is None:
            raise KeyProblem(reason="no_trust")

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None


_TRUST_CACHE: dict = {}   # keys folder -> (its manifest's identity, root, seal keys)


def issuer_trust(home: Path):
    """``(root certificate, seal keys)`` of the home's keys, or None without keys.

    Kept per process while the key manifest stays the same file: ``certcli serve``
    verifies every request against it, and reading and parsing the certificates again
    each time was half of a QR verification.  Every change to the keys (init, a new seal,
    rotate, retire) rewrites the manifest atomically (a new file: new inode and mtime), so
    the next call reads them afresh; certificate files never change once written."""
    import os

    from certcli.pki.keys import MANIFEST, IssuerKeys

    folder = keys_dir(home)
    try:
        stat = os.stat(folder / MANIFEST)
    except OSError:
        return None
    identity = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
    key = str(folder.resolve())
    cached = _TRUST_CACHE.get(key)
    if cached is not None and cached[0] == identity:
        return cached[1], cached[2]
    keys = IssuerKeys(folder)
    if not keys.exists():
        return None
    root, seal_keys = keys.root_certificate(), keys.public_keys()
    _TRUST_CACHE[key] = (identity, root, seal_keys)
    return root, seal_keys


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
