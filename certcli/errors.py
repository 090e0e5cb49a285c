"""Typed domain errors: one class per stable code (SPEC §4), each with its exit status
and named fields (how a class declares them: :mod:`certcli.error_base`, which holds the
machinery).  The refusals a holder or administrator meets are here (exit 1-5); the
classes for input, store, keys, the server and bugs (exit 6, 7, 8, 70) are in
:mod:`certcli.errors_io`.  Both are re-exported here, so ``from certcli.errors import X``
works for every error.
"""
from __future__ import annotations

from typing import Any  # noqa: F401 - the annotations of the fields name it

from certcli.error_base import (  # noqa: F401 - re-exported
    ExitStatus, CertcliError, error_document, by_code, rebuild, describe, EXIT_OK, EXIT_NOT_VALID,
    EXIT_USAGE, EXIT_AUTH, EXIT_RULE, EXIT_NOT_FOUND, EXIT_BAD_INPUT, EXIT_STORE, EXIT_SERVER,
    EXIT_INTERNAL,
)
from certcli.errors_io import (  # noqa: F401 - re-exported
    InvalidIdNumber, BadRoster, BadInput, UnsupportedCharacter, BadPhoto, FileError, BadTrustBundle,
    BundleTooLarge, StoreCorrupt, StoreMissing, LookupNeedsStore, StoreUnwritable, StoreUnavailable,
    StoreExists, MigrationTargetInUse, MigrationCheckFailed, StoreOfOtherIssuer, KeyProblem, RootExpired,
    ServerUnreachable, ServerError, ServeFailed, InternalError,
)


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
