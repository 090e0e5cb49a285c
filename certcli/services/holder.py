"""The holder service: everything a holder, a member or a paper-certificate holder
does, behind one interface (SPEC §1, §3, §4; §6 remote mode).

Every holder command calls only this interface and formats what it returns.
Arguments and results are plain JSON-ready data (str, int, bool, None, lists
and dicts of them); the one exception is the PDF of a :class:`Download`.
Refusals are the typed errors of :mod:`certcli.errors`, with the same codes
and data whichever implementation raised them.  The login session belongs to
the implementation (locally: the home's session file).

Secrets (passwords) are read by the command and passed in; files the holder
asked for (a PDF, an initial-password file) are written by the command.
Words are the command's too: results carry codes (states, checklist items,
reasons), never translated text.

Implementations: :class:`certcli.services.local.LocalHolderService` over the
store; :class:`certcli.services.remote.RemoteHolderService` (``--server URL``)
speaks HTTP to ``certcli serve``, whose routes call the local one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Protocol, runtime_checkable

EMPTY_LIST_REASONS = ("not_obtained", "not_yet_online", "outside_scope", "details_corrected")  # R9


@dataclass(frozen=True)
class Download:
    """A signed PDF and the JSON-ready facts about it.

    ``facts`` is ``{"annotation_no", "valid_until", "valid_through"}`` for a certificate and
    ``{"document_no", "disclosed", "completed_at"}`` for a member certificate."""

    certificate_no: str
    pdf: bytes = field(repr=False)
    facts: dict


@runtime_checkable
class HolderService(Protocol):
    """What a holder can do.  Methods raise :class:`certcli.errors.CertcliError`
    subclasses; the session checks (logged in, terms accepted, member login)
    happen inside, in the same order for every implementation."""

    # --- account: register, login, logout, terms (R10, R11) ----------------------------

    def check_id_number(self, id_type: str, id_number: str) -> str:
        """The normalised ID number, or InvalidIdNumber/BadInput (asked before any password prompt)."""

    def register(self, *, name: str, id_number: str, id_type: str, password: str) -> dict:
        """``{"registered": true, "name", "id_type", "id_number_masked"}``, plus ``"replaced"`` when
        the ID document's earlier account was replaced, saying why (``details_corrected``: it saw
        no certificate and the new details do (R9); ``reset_by_administrator``)."""

    def login(self, *, id_number: str, password: str, id_type: Optional[str] = None) -> dict:
        """Open a session: ``{"logged_in": true, "name", "id_number_masked", "terms_accepted",
        "terms_version"}``."""

    def login_member(self, *, certificate_no: str, password: str, new_password: Optional[str] = None) -> dict:
        """Members log in with their certificate number.  While the initial password is still
        in use ``new_password`` must replace it (PasswordChangeRequired without it; no session
        is left open then).  ``{"logged_in": true, "member": true, "certificate_no", "name",
        "password_changed"}``."""

    def logout(self) -> dict:
        """``{"logged_out": bool}`` (false: there was no session)."""

    def terms(self) -> dict:
        """The current service terms for the logged-in holder: ``{"terms_version", "text_zh",
        "text_en", "accepted_version"}``."""

    def accept_terms(self) -> dict:
        """``{"accepted": true, "terms_version"}``."""

    # --- certificates (R1–R3, R5, R6, R8, R9); need the current terms accepted ---------

    def certificates(self) -> dict:
        """``{"certificates": [...]}``, plus ``"empty_reasons"`` (R9 codes) when there are none."""

    def certificate(self, certificate_no: str) -> dict:
        """One of the holder's certificates with its annotation history."""

    def annotate(self, certificate_no: str, *, scenario: Optional[str] = None, days: int = 90) -> dict:
        """Apply for an annotation: ``{"certificate_no", "annotation_no", "status", "scenario", "days",
        "applied_day", "valid_until", "valid_through", "last_usable_day"}``."""

    def renew(self, certificate_no: str, *, days: int = 90) -> dict:
        """Apply again with the scenario of the latest annotation; as :meth:`annotate`."""

    def download(self, certificate_no: str) -> Download:
        """The signed PDF for a usable annotation (or an exempt certificate)."""

    # --- membership e-certificates (SPEC §3) -------------------------------------------

    def member_status(self, *, id_type: str, id_number: str, name: str, approval_no: Optional[str] = None,
                      issue_passwords: Optional[int] = 0) -> dict:
        """Review progress of membership applications, no login needed: ``{"applications": [...]}``.
        With the approval number, at most ``issue_passwords`` initial passwords (None: all) are
        issued, each in its entry as ``"initial_password"``; the others stay
        ``initial_password_available`` for a later query."""

    def member_info(self) -> dict:
        """The logged-in member's membership: review, photo, details, inspections, transfers, paper."""

    def choose_member_photo(self, source: str) -> dict:
        """``source`` is ``exam`` or ``verified``: ``{"certificate_no", "source", "at"}``."""

    def preview_member_details(self, *, mobile: Optional[str] = None, email: Optional[str] = None,
                               birth_date: Optional[str] = None) -> dict:
        """The personal details as they would be confirmed, nothing saved: ``{"details": {...}}``."""

    def confirm_member_details(self, *, mobile: Optional[str] = None, email: Optional[str] = None,
                               birth_date: Optional[str] = None) -> dict:
        """Confirm (completing or correcting) birth date, mobile, email:
        ``{"certificate_no", "details", "confirmed_at"}``."""

    def member_download(self, reveal: Optional[str] = None) -> Download:
        """The signed member certificate disclosing ``reveal`` (comma-separated keys, ``all``,
        ``none``; default: nothing private), or DocumentPending once it is requested."""

    # --- paper certificates (SPEC §3); need the current terms accepted -----------------

    def request_paper(self, certificate_no: str, *, method: str, proxy: bool = False,
                      address: Optional[str] = None) -> dict:
        """Request collection on site or by mail; ``"checklist"`` lists the material codes."""

    def paper_requests(self) -> dict:
        """``{"requests": [...]}``, each with its status and checklist codes."""

    def close(self) -> None:
        """Release what the service holds (a store connection, an HTTP session)."""
