"""Typed domain errors.

Every error carries a stable ``code`` (SPEC §4), the process exit code it maps
to (an :class:`ExitStatus`), and named fields: the data its message needs.
Only the CLI layer turns them into text (via :mod:`certcli.i18n`, templates in
``certcli/data/messages.json`` keyed by the code) and exit codes; the library
raises and never prints.

An error class declares its fields as class annotations, like a dataclass::

    class BadPhoto(CertcliError):
        code = "bad_photo"
        exit_code = ExitStatus.BAD_INPUT
        reason: str                 # required
        detail: str | None = None   # optional: its part of the message is left out when absent

and is built with those fields only (keywords, or positionally in declaration
order); an unknown or missing field is a ``TypeError`` at the raise site.
``error.data`` is the dict of the fields (the ``data`` of the JSON error).
"""
from __future__ import annotations

from enum import IntEnum
from typing import Any, ClassVar


class ExitStatus(IntEnum):
    """Process exit codes (SPEC §4, README "Exit codes")."""

    OK = 0
    NOT_VALID = 1     # `verify` found the certificate NOT valid
    USAGE = 2
    AUTH = 3          # authentication needed or failed
    RULE = 4          # refused by a rule
    NOT_FOUND = 5
    BAD_INPUT = 6     # bad input data (also a file the user named that cannot be read or written)
    STORE = 7         # store or key problem
    SERVER = 8        # the server could not be reached or failed (remote mode)
    INTERNAL = 70     # a bug: one line, no traceback (unless CERTCLI_DEBUG=1 or --traceback)
    INTERRUPTED = 130  # Ctrl-C


# The old names, kept for callers that import them.
EXIT_OK = ExitStatus.OK
EXIT_NOT_VALID = ExitStatus.NOT_VALID
EXIT_USAGE = ExitStatus.USAGE
EXIT_AUTH = ExitStatus.AUTH
EXIT_RULE = ExitStatus.RULE
EXIT_NOT_FOUND = ExitStatus.NOT_FOUND
EXIT_BAD_INPUT = ExitStatus.BAD_INPUT
EXIT_STORE = ExitStatus.STORE
EXIT_SERVER = ExitStatus.SERVER
EXIT_INTERNAL = ExitStatus.INTERNAL

_MISSING = object()


class CertcliError(Exception):
    code: ClassVar[str] = "error"
    exit_code: ClassVar[ExitStatus] = ExitStatus.INTERNAL
    fields: ClassVar[tuple[str, ...]] = ()          # declared fields, in order
    defaults: ClassVar[dict[str, Any]] = {}         # the optional ones and their defaults

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # the class's own annotations (not inspect.get_annotations: importing inspect costs ~8 ms at start-up)
        own = [name for name, kind in cls.__dict__.get("__annotations__", {}).items() if "ClassVar" not in str(kind)]
        defaults = dict(cls.defaults)
        defaults.update({name: cls.__dict__[name] for name in own if name in cls.__dict__})
        cls.fields = tuple(dict.fromkeys((*cls.fields, *own)))
        cls.defaults = defaults
        if not isinstance(cls.__dict__.get("exit_code", cls.exit_code), ExitStatus):
            raise TypeError(f"{cls.__name__}.exit_code must be an ExitStatus")

    def __init__(self, *args, **kwargs):
        name = type(self).__name__
        if len(args) > len(self.fields):
            raise TypeError(f"{name}() takes {len(self.fields)} positional arguments but {len(args)} were given")
        for field_name, value in zip(self.fields, args):
            if field_name in kwargs:
                raise TypeError(f"{name}() got multiple values for argument {field_name!r}")
            kwargs[field_name] = value
        unknown = [key for key in kwargs if key not in self.fields]
        if unknown:
            raise TypeError(f"{name}() got an unexpected keyword argument {unknown[0]!r} "
                            f"(fields: {', '.join(self.fields) or 'none'})")
        data = {}
        for field_name in self.fields:
            value = kwargs.get(field_name, self.defaults.get(field_name, _MISSING))
            if value is _MISSING:
                raise TypeError(f"{name}() missing required argument {field_name!r}")
            data[field_name] = value
        self.data = data
        self.__dict__.update(data)
        super().__init__(f"{self.code}: {data}" if data else self.code)

    def message(self, lang: str = "en") -> str:
        """The user-facing message in ``lang`` (the catalog template filled with the fields, in words)."""
        from certcli import i18n

        return i18n.t(self.code, lang, **i18n.in_words(self.data, lang))

    def __reduce__(self):
        # Rebuild from the state alone (a roster or processing worker process sends its
        # errors to the parent); __init__ is not run again.
        return _rebuild, (type(self), self.args, self.__dict__)


def _rebuild(cls: type[CertcliError], args: tuple, state: dict) -> CertcliError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


def error_document(code: str, message: str, data: dict | None = None) -> dict:
    """The JSON error document, as ``--json`` prints it and ``certcli serve`` answers it:
    ``{"error": {"code", "message", "data"}}``; ``data`` leaves out empty fields and file
    paths (which are the machine's, not the user's business), and is absent when empty."""
    error: dict = {"code": code, "message": message}
    public = {k: v for k, v in (data or {}).items() if k != "path" and v is not None}
    if public:
        error["data"] = public
    return {"error": error}


def by_code(code: str) -> type[CertcliError] | None:
    """The error class with this stable code (the remote client re-raises the server's errors)."""
    todo, found = [CertcliError], {}
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        found.setdefault(cls.__dict__.get("code", ""), cls)
    return found.get(code) if code else None


def rebuild(code: str, data: dict | None) -> CertcliError | None:
    """The typed error an error document describes (fields it left out take their defaults,
    or None), so its message and exit code are those of the error the server raised."""
    cls = by_code(code)
    if cls is None or cls is CertcliError:
        return None
    data = data if isinstance(data, dict) else {}
    state = {name: data.get(name, cls.defaults.get(name)) for name in cls.fields}
    error = cls.__new__(cls)
    Exception.__init__(error, f"{code}: {state}" if state else code)
    error.data = state
    error.__dict__.update(state)
    return error


def describe(error: BaseException, lang: str = "en") -> str:
    """One line for a log or a stored failure reason: ``code: message`` for our errors,
    ``ExceptionType: text`` for anything else."""
    if isinstance(error, CertcliError):
        return f"{error.code}: {error.message(lang)}"
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


# --- Verification outcomes that are errors for a QR payload (exit 1: not valid) ----------

class NotACertcliQr(CertcliError):
    code = "not_a_certcli_qr"
    exit_code = ExitStatus.NOT_VALID


class QrSignatureInvalid(CertcliError):
    code = "qr_signature_invalid"
    exit_code = ExitStatus.NOT_VALID
    key_id: str


class UnknownSigningKey(CertcliError):
    code = "unknown_signing_key"
    exit_code = ExitStatus.NOT_VALID
    key_id: str


# --- Usage (exit 2) ------------------------------------------------------------------------

class UsageError(CertcliError):
    code = "usage_error"
    exit_code = ExitStatus.USAGE
    detail: str


class BadTime(CertcliError):
    """CERTCLI_NOW or a time option that is not ISO 8601."""

    code = "bad_time"
    exit_code = ExitStatus.USAGE
    value: str


class PasswordRequired(CertcliError):
    code = "password_required"
    exit_code = ExitStatus.USAGE


class PassphraseRequired(CertcliError):
    code = "passphrase_required"
    exit_code = ExitStatus.USAGE


# --- Authentication (exit 3) ---------------------------------------------------------------

class NotLoggedIn(CertcliError):
    code = "not_logged_in"
    exit_code = ExitStatus.AUTH
    reason: str = "no_session"  # no_session | expired


class BadCredentials(CertcliError):
    code = "bad_credentials"
    exit_code = ExitStatus.AUTH
    what: str = "password"  # password | approval_no (each has its own message)


class AccountLocked(CertcliError):
    code = "account_locked"
    exit_code = ExitStatus.AUTH
    until: Any  # datetime


class TermsNotAccepted(CertcliError):
    code = "terms_not_accepted"
    exit_code = ExitStatus.AUTH
    current_version: int


class WrongPassphrase(CertcliError):
    code = "wrong_passphrase"
    exit_code = ExitStatus.AUTH


class PasswordChangeRequired(CertcliError):
    code = "password_change_required"
    exit_code = ExitStatus.AUTH
    certificate_no: str


class MemberLoginRequired(CertcliError):
    code = "member_login_required"
    exit_code = ExitStatus.AUTH


# --- Refused by a rule (exit 4) ------------------------------------------------------------

class AlreadyRegistered(CertcliError):
    """``reason`` says why registering again does not replace the account: it sees
    certificates (account_has_certificates), or the new name matches none either
    (name_matches_no_certificate); None for a plain second registration."""

    code = "already_registered"
    exit_code = ExitStatus.RULE
    id_type: str
    reason: str | None = None


class CertificateRevoked(CertcliError):
    """``what`` is ``revocation`` when an administrator revokes it again (its own message:
    already revoked, nothing changed); ``revoked_at`` says since when, if known."""

    code = "certificate_revoked"
    exit_code = ExitStatus.RULE
    certificate_no: str
    what: str | None = None
    revoked_at: Any = None


class ValidityOutOfRange(CertcliError):
    code = "validity_out_of_range"
    exit_code = ExitStatus.RULE
    days: int
    min: int
    max: int


class UnknownScenario(CertcliError):
    code = "unknown_scenario"
    exit_code = ExitStatus.RULE
    scenario: str
    known: list


class AnnotationPending(CertcliError):
    """``what`` is ``application`` when the holder applies again while a request is still
    being generated (its own message: download that one when it completes)."""

    code = "annotation_pending"
    exit_code = ExitStatus.RULE
    certificate_no: str
    what: str | None = None
    annotation_no: str | None = None


class AnnotationRequired(CertcliError):
    code = "annotation_required"
    exit_code = ExitStatus.RULE
    certificate_no: str


class AnnotationExpired(CertcliError):
    code = "annotation_expired"
    exit_code = ExitStatus.RULE
    certificate_no: str
    valid_until: str    # the exclusive end, ISO 8601; the message shows its last usable day (certcli.i18n)


class AnnotationNotNeeded(CertcliError):
    code = "annotation_not_needed"
    exit_code = ExitStatus.RULE
    certificate_no: str


class WeakPassword(CertcliError):
    code = "weak_password"
    exit_code = ExitStatus.RULE
    min_length: int


class QuotaExceeded(CertcliError):
    """R3: a 4th annotation inside the 90-day window."""

    code = "quota_exceeded"
    exit_code = ExitStatus.RULE
    first_accepted_day: Any  # date
    counted_days: tuple      # the application days counted in the window


class ReviewOutOfOrder(CertcliError):
    code = "review_out_of_order"
    exit_code = ExitStatus.RULE
    stage: str
    required_stage: str
    progress: str


class ReviewClosed(CertcliError):
    code = "review_closed"
    exit_code = ExitStatus.RULE
    stage: str
    progress: str


class MemberNotApproved(CertcliError):
    code = "member_not_approved"
    exit_code = ExitStatus.RULE
    progress: str


class PasswordNotChanged(CertcliError):
    code = "password_not_changed"
    exit_code = ExitStatus.RULE


class PhotoNotAllowed(CertcliError):
    code = "photo_not_allowed"
    exit_code = ExitStatus.RULE
    exam_pass_year: Any  # int, or "?" when unknown
    from_year: int


class PhotoMissing(CertcliError):
    code = "photo_missing"
    exit_code = ExitStatus.RULE
    source: str  # exam | verified


class DetailsIncomplete(CertcliError):
    code = "details_incomplete"
    exit_code = ExitStatus.RULE
    missing: list


class PhotoNotChosen(CertcliError):
    code = "photo_not_chosen"
    exit_code = ExitStatus.RULE
    missing: list  # every step left before a download


class DetailsNotConfirmed(CertcliError):
    code = "details_not_confirmed"
    exit_code = ExitStatus.RULE
    missing: list


class DocumentPending(CertcliError):
    code = "document_pending"
    exit_code = ExitStatus.RULE
    certificate_no: str
    document_no: str


class ElectronicNotIssued(CertcliError):
    code = "electronic_not_issued"
    exit_code = ExitStatus.RULE
    region: str
    certificate_no: str
    since: Any = None  # date | None


class PaperNotIssued(CertcliError):
    code = "paper_not_issued"
    exit_code = ExitStatus.RULE
    region: str
    certificate_no: str
    since: Any = None  # date | None


class PaperMemberNotIssued(CertcliError):
    code = "paper_member_not_issued"
    exit_code = ExitStatus.RULE


class PaperCollectionNotOpen(CertcliError):
    code = "paper_collection_not_open"
    exit_code = ExitStatus.RULE
    opens_on: Any  # date


class PaperRequestExists(CertcliError):
    code = "paper_request_exists"
    exit_code = ExitStatus.RULE
    request_no: str
    status: str


class PaperRequestState(CertcliError):
    code = "paper_request_state"
    exit_code = ExitStatus.RULE
    status: str
    action: str
    method: str


class RateLimited(CertcliError):
    """Too many requests from one client address (``certcli serve``: HTTP 429 with Retry-After)."""

    code = "rate_limited"
    exit_code = ExitStatus.RULE
    retry_after: int  # seconds


# --- Not found (exit 5) --------------------------------------------------------------------

class NotFound(CertcliError):
    """``what`` names the kind of thing (certificate, membership, document, seal, seal_key,
    paper_request, faq_topic: each has its own message), ``value`` what was looked for."""

    code = "not_found"
    exit_code = ExitStatus.NOT_FOUND
    what: str
    value: str


# --- Bad input data (exit 6) ---------------------------------------------------------------

class InvalidIdNumber(CertcliError):
    code = "invalid_id_number"
    exit_code = ExitStatus.BAD_INPUT
    reason: str
    id_type: str


class BadRoster(CertcliError):
    code = "bad_roster"
    exit_code = ExitStatus.BAD_INPUT
    path: str
    reason: str
    detail: Any = None  # str, or the missing columns


class BadInput(CertcliError):
    """``field`` names the option or argument, ``reason`` is a code with words in the
    catalog (``why.*``) or a short text; ``value`` is what was given (when it can be shown);
    ``known`` the accepted values (for a choice)."""

    code = "bad_input"
    exit_code = ExitStatus.BAD_INPUT
    field: str
    reason: str
    value: Any = None
    known: Any = None


class UnsupportedCharacter(CertcliError):
    code = "unsupported_character"
    exit_code = ExitStatus.BAD_INPUT
    char: str
    codepoint: str
    field: str


class BadPhoto(CertcliError):
    code = "bad_photo"
    exit_code = ExitStatus.BAD_INPUT
    reason: str
    detail: Any = None
    path: Any = None  # the photo file the user named, if it was one


class FileError(CertcliError):
    """A file the user named (``-o``, ``--rejects``, an input file) cannot be read or written.
    Never a store problem: files inside the home are :class:`StoreUnwritable`."""

    code = "file_error"
    exit_code = ExitStatus.BAD_INPUT
    reason: str
    path: Any = None  # None when the system did not say which file


class BadTrustBundle(CertcliError):
    """A trust bundle (``verify --trust``) refused: not signed by its root, edited after
    signing, or not a certcli bundle at all.  ``reason`` is a code with words in the
    catalog (``why.bundle_*``); ``detail`` says where (a line, a key id), when known."""

    code = "bad_trust_bundle"
    exit_code = ExitStatus.BAD_INPUT
    reason: str
    detail: Any = None


class BundleTooLarge(CertcliError):
    """``admin trust`` would write a bundle larger than verifiers accept (1 MiB)."""

    code = "bundle_too_large"
    exit_code = ExitStatus.BAD_INPUT
    size: int
    limit: int
    revoked: int


# --- Store or key problem (exit 7) ---------------------------------------------------------

class StoreCorrupt(CertcliError):
    code = "store_corrupt"
    exit_code = ExitStatus.STORE
    path: str
    reason: str


class StoreMissing(CertcliError):
    code = "store_missing"
    exit_code = ExitStatus.STORE
    path: str


class LookupNeedsStore(CertcliError):
    """``verify --number --name`` where there is no certificate store: the lookup asks the
    issuer's records, which a trust bundle does not hold (``--server``, or the store's home)."""

    code = "lookup_needs_store"
    exit_code = ExitStatus.STORE
    path: str  # the home that has no store


class StoreUnwritable(CertcliError):
    code = "store_unwritable"
    exit_code = ExitStatus.STORE
    path: str
    reason: str


class StoreUnavailable(CertcliError):
    """The PostgreSQL database (``--database-url``) cannot be reached or refused us: server
    down, authentication failed, no such database.  ``url`` has its password masked."""

    code = "store_unavailable"
    exit_code = ExitStatus.STORE
    url: str
    reason: str


class StoreExists(CertcliError):
    """``admin init`` against a database that already holds a certcli store (issue 15):
    ``--join`` uses it from this home instead of creating one."""

    code = "store_exists"
    exit_code = ExitStatus.STORE
    url: str


class MigrationTargetInUse(CertcliError):
    """``admin migrate --to URL``: the database holds another store's data (``what``:
    ``other_store``, its audit chain head ``head`` is not in this store's chain) or was
    written to since this store was copied into it (``changed_since_migration``)."""

    code = "migration_target_in_use"
    exit_code = ExitStatus.STORE
    url: str
    what: str
    head: str


class MigrationCheckFailed(CertcliError):
    """``admin migrate``: the copy does not match the store (``tables`` whose row counts
    differ, comma-separated; ``audit``: ``verified``, or ``broken`` when the chain did not
    verify on the copy or its head differs from the store's)."""

    code = "migration_check_failed"
    exit_code = ExitStatus.STORE
    url: str
    tables: str
    audit: str


class StoreOfOtherIssuer(CertcliError):
    """``admin init`` with a home whose keys are not those of the issuer whose shared
    database this is (its root key id is recorded there): joining would sign under a
    second root."""

    code = "store_other_issuer"
    exit_code = ExitStatus.STORE
    url: str
    recorded: str   # the database's issuer root key id
    mine: str       # this home's


class KeyProblem(CertcliError):
    code = "key_problem"
    exit_code = ExitStatus.STORE
    reason: str
    path: Any = None  # the key file or folder concerned, when there is one


class RootExpired(CertcliError):
    """The issuer root certificate has ended, or ends too soon to certify a seal key that
    may sign (``rules.SIGNING_MARGIN``): ``admin process`` signs nothing."""

    code = "root_expired"
    exit_code = ExitStatus.STORE
    not_after: Any   # datetime: the root certificate's end
    margin_days: int  # how long a seal certificate must still run to sign


# --- The server could not be reached or failed (exit 8, remote mode) ------------------------

class ServerUnreachable(CertcliError):
    """Connection refused, timed out, name not resolved, TLS handshake refused."""

    code = "server_unreachable"
    exit_code = ExitStatus.SERVER
    server: str
    reason: str


class ServerError(CertcliError):
    """The server answered 5xx, or with something that is not a certcli answer."""

    code = "server_error"
    exit_code = ExitStatus.SERVER
    server: str
    status: Any = None  # the HTTP status
    detail: Any = None  # the server's error code, or what was wrong with its answer


class ServeFailed(CertcliError):
    """``certcli serve`` could not start (the address is taken, TLS files unusable, ...):
    the log line before says why."""

    code = "serve_failed"
    exit_code = ExitStatus.SERVER
    address: str


# --- A bug (exit 70) ---------------------------------------------------------------------

class InternalError(CertcliError):
    code = "internal_error"
    exit_code = ExitStatus.INTERNAL
    kind: str  # the exception's type name
