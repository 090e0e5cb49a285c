"""Typed domain errors.

Every error carries a stable ``code`` (SPEC §4), the process exit code it maps
to, and the data the message needs.  Only the CLI layer turns them into text
(via :mod:`certcli.i18n`) and exit codes; the library raises and never prints.
"""
from __future__ import annotations

# Exit codes (SPEC §4).
EXIT_OK = 0
EXIT_NOT_VALID = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_RULE = 4
EXIT_NOT_FOUND = 5
EXIT_BAD_INPUT = 6
EXIT_STORE = 7


class CertcliError(Exception):
    code = "error"
    exit_code = EXIT_STORE

    def __init__(self, **data):
        self.data = data
        super().__init__(f"{self.code}: {data}" if data else self.code)

    def __reduce__(self):
        # Subclasses have their own __init__ signatures; rebuild from the data alone
        # (a roster worker process sends its errors to the importing process).
        return _rebuild, (type(self), self.args, self.__dict__)


def _rebuild(cls: type[CertcliError], args: tuple, state: dict) -> CertcliError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


def _error(name: str, code: str, exit_code: int) -> type[CertcliError]:
    return type(name, (CertcliError,), {"code": code, "exit_code": exit_code})


# Authentication (exit 3)
NotLoggedIn = _error("NotLoggedIn", "not_logged_in", EXIT_AUTH)
BadCredentials = _error("BadCredentials", "bad_credentials", EXIT_AUTH)
AccountLocked = _error("AccountLocked", "account_locked", EXIT_AUTH)  # data: until
TermsNotAccepted = _error("TermsNotAccepted", "terms_not_accepted", EXIT_AUTH)
WrongPassphrase = _error("WrongPassphrase", "wrong_passphrase", EXIT_AUTH)
PasswordChangeRequired = _error("PasswordChangeRequired", "password_change_required", EXIT_AUTH)

# Refused by a rule (exit 4)
AlreadyRegistered = _error("AlreadyRegistered", "already_registered", EXIT_RULE)
CertificateRevoked = _error("CertificateRevoked", "certificate_revoked", EXIT_RULE)
ValidityOutOfRange = _error("ValidityOutOfRange", "validity_out_of_range", EXIT_RULE)
UnknownScenario = _error("UnknownScenario", "unknown_scenario", EXIT_RULE)
AnnotationPending = _error("AnnotationPending", "annotation_pending", EXIT_RULE)
AnnotationRequired = _error("AnnotationRequired", "annotation_required", EXIT_RULE)
AnnotationExpired = _error("AnnotationExpired", "annotation_expired", EXIT_RULE)
AnnotationNotNeeded = _error("AnnotationNotNeeded", "annotation_not_needed", EXIT_RULE)
WeakPassword = _error("WeakPassword", "weak_password", EXIT_RULE)


class QuotaExceeded(CertcliError):
    """R3: a 4th annotation inside the 90-day window."""

    code = "quota_exceeded"
    exit_code = EXIT_RULE

    def __init__(self, first_accepted_day, counted_days=()):
        super().__init__(first_accepted_day=first_accepted_day, counted_days=tuple(counted_days))
        self.first_accepted_day = first_accepted_day


# Not found (exit 5)
NotFound = _error("NotFound", "not_found", EXIT_NOT_FOUND)

# Bad input data (exit 6)
InvalidIdNumber = _error("InvalidIdNumber", "invalid_id_number", EXIT_BAD_INPUT)
BadRoster = _error("BadRoster", "bad_roster", EXIT_BAD_INPUT)
BadInput = _error("BadInput", "bad_input", EXIT_BAD_INPUT)
UnsupportedCharacter = _error("UnsupportedCharacter", "unsupported_character", EXIT_BAD_INPUT)
BadTime = _error("BadTime", "bad_time", EXIT_USAGE)

# Store or key problem (exit 7)
StoreCorrupt = _error("StoreCorrupt", "store_corrupt", EXIT_STORE)
StoreMissing = _error("StoreMissing", "store_missing", EXIT_STORE)
StoreUnwritable = _error("StoreUnwritable", "store_unwritable", EXIT_STORE)
KeyProblem = _error("KeyProblem", "key_problem", EXIT_STORE)

# Verification outcomes that are errors for a QR payload (exit 1: not valid)
NotACertcliQr = _error("NotACertcliQr", "not_a_certcli_qr", EXIT_NOT_VALID)
QrSignatureInvalid = _error("QrSignatureInvalid", "qr_signature_invalid", EXIT_NOT_VALID)
UnknownSigningKey = _error("UnknownSigningKey", "unknown_signing_key", EXIT_NOT_VALID)


# --- membership, regional policy and paper collection (SPEC §3) ---------------

# Authentication (exit 3)
MemberLoginRequired = _error("MemberLoginRequired", "member_login_required", EXIT_AUTH)

# Refused by a rule (exit 4)
ReviewOutOfOrder = _error("ReviewOutOfOrder", "review_out_of_order", EXIT_RULE)
ReviewClosed = _error("ReviewClosed", "review_closed", EXIT_RULE)
MemberNotApproved = _error("MemberNotApproved", "member_not_approved", EXIT_RULE)
PasswordNotChanged = _error("PasswordNotChanged", "password_not_changed", EXIT_RULE)
PhotoNotAllowed = _error("PhotoNotAllowed", "photo_not_allowed", EXIT_RULE)
PhotoMissing = _error("PhotoMissing", "photo_missing", EXIT_RULE)
DetailsIncomplete = _error("DetailsIncomplete", "details_incomplete", EXIT_RULE)
PhotoNotChosen = _error("PhotoNotChosen", "photo_not_chosen", EXIT_RULE)  # data: missing (every step left)
DetailsNotConfirmed = _error("DetailsNotConfirmed", "details_not_confirmed", EXIT_RULE)
DocumentPending = _error("DocumentPending", "document_pending", EXIT_RULE)
ElectronicNotIssued = _error("ElectronicNotIssued", "electronic_not_issued", EXIT_RULE)
PaperNotIssued = _error("PaperNotIssued", "paper_not_issued", EXIT_RULE)
PaperMemberNotIssued = _error("PaperMemberNotIssued", "paper_member_not_issued", EXIT_RULE)
PaperCollectionNotOpen = _error("PaperCollectionNotOpen", "paper_collection_not_open", EXIT_RULE)
PaperRequestExists = _error("PaperRequestExists", "paper_request_exists", EXIT_RULE)
PaperRequestState = _error("PaperRequestState", "paper_request_state", EXIT_RULE)

# Bad input data (exit 6)
BadPhoto = _error("BadPhoto", "bad_photo", EXIT_BAD_INPUT)
