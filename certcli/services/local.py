"""The holder service over the home's store (the embedded default, SPEC §4).

A thin adapter: the rules and queries live in :mod:`certcli.accounts`,
:mod:`certcli.certificates.holder`, :mod:`certcli.membership` and
:mod:`certcli.regions`; this class checks the session the way each command
always did, calls them, and returns plain JSON-ready data (dates as ISO text).
The login session is the home's session file, or (``certcli serve``) the
bearer token of one request: ``session=accounts.TokenSession(token)``.  Modules beyond accounts are
imported by the methods that need them, so ``certcli login`` does not load
the membership document pipeline.
"""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Callable, Optional, Union

from certcli import accounts, rules
from certcli.errors import BadInput, PaperMemberNotIssued
from certcli.services.holder import EMPTY_LIST_REASONS, Download

PHOTO_SOURCES = ("exam", "verified")


class _Withheld(Exception):
    """Raised inside an issuing transaction to keep one more initial password unissued."""


class LocalHolderService:
    """:class:`certcli.services.holder.HolderService` over a local store.

    ``store`` is an open :class:`certcli.store.Store`, a callable returning one
    (opened on first use, e.g. ``Runtime.store``; its owner closes it), or None:
    then the service opens the home's store itself and :meth:`close` closes it.
    ``session`` is where the login token is kept: None for the home's session
    file, or an :class:`certcli.accounts.TokenSession` (the server, per request)."""

    def __init__(self, home: Path, now: datetime, store: Union[object, Callable[[], object], None] = None,
                 session: Optional[accounts.TokenSession] = None):
        self.home = Path(home)
        self.now = now
        self._source = store
        self._own = None
        self.session = self.home if session is None else session

    # --- plumbing ------------------------------------------------------------------------

    def _db(self):
        if self._source is None:
            if self._own is None:
                from certcli.store import open_store

                self._own = open_store(self.home)
            return self._own
        return self._source() if callable(self._source) else self._source

    def close(self) -> None:
        if self._own is not None:
            self._own.close()
            self._own = None

    def __enter__(self) -> "LocalHolderService":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _holder(self):
        """The logged-in holder who has accepted the current terms (R11)."""
        store = self._db()
        account = accounts.current_account(store, self.session, self.now)
        accounts.require_terms(store, account, self.now)
        return store, account

    def _member(self):
        from certcli.membership import service as membership

        store = self._db()
        return store, membership.current_member(store, self.session, self.now)

    # --- account -------------------------------------------------------------------------

    def check_id_number(self, id_type: str, id_number: str) -> str:
        return rules.normalize_id_number(id_type, id_number)

    def register(self, *, name: str, id_number: str, id_type: str, password: str) -> dict:
        registration = accounts.register_holder(self._db(), id_type=id_type, id_number=id_number, name=name,
                                                password=password, now=self.now)
        account = registration.account
        document = {"registered": True, "name": account.name, "id_type": account.id_type,
                    "id_number_masked": rules.mask_id_number(account.id_number)}
        if registration.replaced:
            document["replaced"] = registration.replaced
        return document

    def login(self, *, id_number: str, password: str, id_type: Optional[str] = None) -> dict:
        store = self._db()
        account = accounts.login(store, self.session, id_number=id_number, password=password, id_type=id_type,
                                 now=self.now)
        terms = accounts.current_terms(store, self.now)
        return {"logged_in": True, "name": account.name, "id_number_masked": rules.mask_id_number(account.id_number),
                "terms_accepted": account.terms_version == terms["version"], "terms_version": terms["version"]}

    def login_member(self, *, certificate_no: str, password: str, new_password: Optional[str] = None) -> dict:
        from certcli.membership import service as membership

        account, changed = membership.login(self._db(), self.session, certificate_no=certificate_no,
                                            password=password, new_password=lambda: new_password, now=self.now)
        return {"logged_in": True, "member": True, "certificate_no": (certificate_no or "").strip().upper(),
                "name": account.name, "password_changed": changed}

    def logout(self) -> dict:
        return {"logged_out": accounts.logout(self._db(), self.session)}

    def terms(self) -> dict:
        store = self._db()
        account = accounts.current_account(store, self.session, self.now)
        terms = accounts.current_terms(store, self.now)
        return {"terms_version": terms["version"], "text_zh": terms["text_zh"], "text_en": terms["text_en"],
                "accepted_version": account.terms_version}

    def accept_terms(self) -> dict:
        store = self._db()
        account = accounts.current_account(store, self.session, self.now)
        return {"accepted": True, "terms_version": accounts.accept_terms(store, account, self.now)}

    # --- certificates --------------------------------------------------------------------

    def certificates(self) -> dict:
        from certcli.certificates import holder

        store, account = self._holder()
        rows = [holder.describe(store, cert, self.now) for cert in holder.holder_certificates(store, account)]
        for row in rows:
            row.pop("annotations")
        document = {"certificates": rows}
        if not rows:
            document["empty_reasons"] = list(EMPTY_LIST_REASONS)
        return document

    def certificate(self, certificate_no: str) -> dict:
        from certcli.certificates import holder

        store, account = self._holder()
        return holder.describe(store, holder.own_certificate(store, account, certificate_no), self.now)

    def annotate(self, certificate_no: str, *, scenario: Optional[str] = None, days: int = 90) -> dict:
        from certcli.certificates import holder

        store, account = self._holder()
        return holder.apply_annotation(store, account, certificate_no, scenario=scenario, days=days, now=self.now)

    def renew(self, certificate_no: str, *, days: int = 90) -> dict:
        from certcli.certificates import holder

        store, account = self._holder()
        return holder.renew(store, account, certificate_no, days=days, now=self.now)

    def download(self, certificate_no: str) -> Download:
        from certcli.certificates import holder

        store, account = self._holder()
        pdf, annotation = holder.document_for_download(store, account, certificate_no, self.now)
        return Download(certificate_no, pdf, {"annotation_no": annotation["annotation_no"],
                                              "valid_until": annotation["valid_until"],
                                              "valid_through": holder.valid_through(annotation["valid_until"])})

    # --- membership ----------------------------------------------------------------------

    def member_status(self, *, id_type: str, id_number: str, name: str, approval_no: Optional[str] = None,
                      issue_passwords: Optional[int] = 0) -> dict:
        from certcli.membership import service as membership

        store = self._db()
        issued: dict[str, str] = {}

        def deliver(certificate_no: str, password: str) -> None:
            if issue_passwords is not None and len(issued) >= issue_passwords:
                raise _Withheld()  # rolls this issuance back: a later query issues it
            issued[certificate_no] = password

        query = dict(id_type=id_type, id_number=id_number, name=name, approval_no=approval_no, now=self.now)
        try:
            results = membership.application_status(store, deliver=deliver if issue_passwords != 0 else None,
                                                    **query)
        except _Withheld:
            # what was issued before the limit stays issued; ask again without issuing more
            results = membership.application_status(store, deliver=None, **query)
        for entry in results:
            password = issued.get(entry.get("certificate_no"))
            if password is not None:
                entry.pop("revealed_at", None)
                entry["credentials"] = "initial_password"
                entry["initial_password"] = password
        return {"applications": results}

    def member_info(self) -> dict:
        from certcli.membership import service as membership

        store, row = self._member()
        return membership.describe(store, row, self.now)

    def choose_member_photo(self, source: str) -> dict:
        from certcli.membership import documents as member_documents

        if source not in PHOTO_SOURCES:
            raise BadInput(field="--use", value=source, reason="unknown_choice", known=list(PHOTO_SOURCES))
        store, row = self._member()
        return member_documents.choose_photo(store, row, source, self.now)

    def preview_member_details(self, *, mobile: Optional[str] = None, email: Optional[str] = None,
                               birth_date: Optional[str] = None) -> dict:
        from certcli.membership import service as membership

        _store, row = self._member()
        _birth_date(birth_date)
        shown = membership.personal_details(row)
        shown.update({k: v for k, v in (("mobile", mobile), ("email", email), ("birth_date", birth_date)) if v})
        return {"details": shown}

    def confirm_member_details(self, *, mobile: Optional[str] = None, email: Optional[str] = None,
                               birth_date: Optional[str] = None) -> dict:
        from certcli.membership import documents as member_documents

        store, row = self._member()
        born = _birth_date(birth_date)
        return member_documents.confirm_details(store, row, mobile=mobile, email=email, birth_date=born,
                                                now=self.now)

    def member_download(self, reveal: Optional[str] = None) -> Download:
        from certcli.membership import documents as member_documents
        from certcli.membership import rules as member_rules

        if isinstance(reveal, (list, tuple)):
            reveal = ",".join(reveal) or "none"
        try:
            keys = member_rules.parse_reveal(reveal)
        except ValueError as unknown:
            raise BadInput(field="--reveal", value=str(unknown), reason="unknown_choice",
                           known=list(member_rules.DISCLOSABLE)) from None
        store, row = self._member()
        pdf, document = member_documents.request_document(store, row, keys, self.now)
        return Download(row["certificate_no"], pdf, document)

    # --- paper certificates --------------------------------------------------------------

    def _paper_holder(self):
        """The logged-in holder who accepted the terms; members have no paper certificate to collect."""
        from certcli.membership.service import MEMBER_ID_TYPE

        store = self._db()
        account = accounts.current_account(store, self.session, self.now)
        if account.id_type == MEMBER_ID_TYPE:
            raise PaperMemberNotIssued()
        accounts.require_terms(store, account, self.now)
        return store, account

    def request_paper(self, certificate_no: str, *, method: str, proxy: bool = False,
                      address: Optional[str] = None) -> dict:
        from certcli.certificates import holder
        from certcli.regions import service as regions

        store, account = self._paper_holder()
        cert = holder.own_certificate(store, account, certificate_no)
        result = regions.request_paper(store, account, cert, method=method, proxy=proxy, address=address,
                                       now=self.now)
        return {k: v.isoformat() if isinstance(v, date) else v for k, v in result.items()}

    def paper_requests(self) -> dict:
        from certcli.regions import service as regions

        store, account = self._paper_holder()
        return {"requests": regions.holder_requests(store, account)}


def _birth_date(text: Optional[str]) -> Optional[date]:
    if text is None:
        return None
    from certcli.roster.parse import parse_day

    try:
        return parse_day(text)
    except ValueError:
        raise BadInput(field="--birth-date", value=text[:20], reason="format") from None


class LocalVerifier:
    """``verify`` over the home's keys and store, or a trust bundle: the verify document
    (:func:`certcli.verification.document.verify_document`, which ``certcli serve`` answers too)."""

    def __init__(self, home: Path, now: datetime, lang: str, trust: Optional[Path] = None,
                 ledgers: Optional[Path] = None, max_bundle_age=None):
        self.home, self.now, self.lang, self.trust = Path(home), now, lang, trust
        self.ledgers, self.max_bundle_age = ledgers, max_bundle_age     # with a trust bundle only

    def verify(self, *, pdf: Optional[Path] = None, qr: Optional[str] = None, number: Optional[str] = None,
               name: Optional[str] = None) -> dict:
        from certcli.verification.document import verify_document

        if number is not None:
            from certcli.home import has_store

            if not has_store(self.home):   # a trust bundle cannot answer a lookup: the issuer's records can
                from certcli.errors import LookupNeedsStore

                raise LookupNeedsStore(path=str(self.home))
        return verify_document(self.home, self.now, self.lang, trust=self.trust, pdf_path=pdf, qr=qr,
                               number=number, name=name, ledgers=self.ledgers, max_bundle_age=self.max_bundle_age)

    def close(self) -> None:
        pass
