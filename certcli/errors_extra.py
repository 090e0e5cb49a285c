"""Typed errors of the membership, regional-policy and paper-collection systems
(SPEC §3), built like those of :mod:`certcli.errors`: a stable code, an exit
code, the data the message needs.  Messages are in :mod:`certcli.i18n_extra`."""
from __future__ import annotations

from certcli import i18n_extra
from certcli.errors import EXIT_AUTH, EXIT_BAD_INPUT, EXIT_RULE, CertcliError


def _error(name: str, code: str, exit_code: int) -> type[CertcliError]:
    return type(name, (CertcliError,), {"code": code, "exit_code": exit_code})


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

i18n_extra.install()
