"""The holder service and the verifier over HTTP: remote mode (``--server URL``, SPEC §6).

:class:`RemoteHolderService` implements :class:`certcli.services.holder.HolderService`
by calling ``certcli serve`` (routes in :mod:`certcli.server.app`); every rule runs
on the server, in the same library code the local service calls.  The server's
error document is raised again as the same typed error (looked up by its code),
so a command prints the same message and exits with the same code as locally.
Transport failures are :class:`~certcli.errors.ServerUnreachable` (exit 8),
5xx answers and answers that are not certcli's :class:`~certcli.errors.ServerError`
(exit 8), HTTP 429 :class:`~certcli.errors.RateLimited` (exit 4).

The client's home keeps only the login session: the bearer token and the server
it belongs to, in the session file (0600); a token is never sent to another
server.  TLS is verified (system roots, or ``--ca-bundle`` for a private CA).

Nothing here imports the store, the PDF or the signing modules; httpx is
imported on the first request.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional
from urllib.parse import quote

from certcli import rules
from certcli.errors import BadInput, RateLimited, ServerError, ServerUnreachable, rebuild
from certcli.services.holder import Download

API = "/api/v1"
# verification facts that are instants (the CLI shows them in CST; --json as ISO 8601)
INSTANT_FACTS = ("signed_at", "valid_from", "valid_until")
TIMEOUT_SECONDS = 60.0      # a PDF verification or an upload may take a while
CONNECT_TIMEOUT_SECONDS = 10.0


def segment(value: str) -> str:
    """A certificate number as one URL path segment: every ``/`` and ``.`` escaped, so
    ``../../x`` reaches the server as the number it is, never as a path."""
    return quote(value, safe="").replace(".", "%2E")


class Connection:
    """One server: the HTTP client, the session token, the mapping of answers to errors."""

    def __init__(self, server: str, *, home: Path, lang: str = "en", ca_bundle: Optional[Path] = None):
        self.server = server.rstrip("/")
        self.home = Path(home)
        self.lang = lang
        self.ca_bundle = ca_bundle
        self._client = None

    # --- the session (the client home keeps only this) ---------------------------------

    def _session_path(self) -> Path:
        from certcli.home import session_file

        return session_file(self.home)

    def token(self) -> Optional[str]:
        try:
            saved = json.loads(self._session_path().read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(saved, dict) or saved.get("server") != self.server:
            return None  # no session, or one with another server: never send it elsewhere
        token = saved.get("token")
        return token if isinstance(token, str) and token else None

    def keep_token(self, token: str) -> None:
        from certcli.home import ensure_private_dir, write_private

        ensure_private_dir(self.home)
        write_private(self._session_path(), json.dumps({"token": token, "server": self.server}).encode())

    def forget_token(self) -> None:
        self._session_path().unlink(missing_ok=True)

    # --- requests ------------------------------------------------------------------------

    def _http(self):
        if self._client is None:
            import ssl

            import httpx

            if not self.server.startswith("https:"):
                # plain http (loopback only): no TLS will be spoken, so skip loading the CA store
                # (~50 ms); this context verifies as strictly as any, it just trusts no one
                verify = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            elif self.ca_bundle is None:
                verify = True
            else:
                try:
                    verify = ssl.create_default_context(cafile=str(self.ca_bundle))
                except (OSError, ssl.SSLError) as error:
                    raise BadInput(field="--ca-bundle", value=str(self.ca_bundle),
                                   reason=getattr(error, "strerror", None) or "unreadable") from None
            self._client = httpx.Client(
                base_url=self.server, verify=verify, follow_redirects=False,
                timeout=httpx.Timeout(TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS),
                headers={"User-Agent": "certcli", "Accept-Language": self.lang, "Accept": "application/json"})
        return self._client

    def request(self, method: str, path: str, *, body: Optional[dict] = None, content: Optional[bytes] = None,
                params: Optional[dict] = None, auth: bool = True, content_type: Optional[str] = None):
        """The response of a 2xx answer; any other answer raises the typed error it stands for."""
        import httpx

        headers = {}
        token = self.token() if auth else None
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if content_type:
            headers["Content-Type"] = content_type
        try:
            response = self._http().request(method, path, json=body, content=content, params=params,
                                            headers=headers)
        except httpx.TimeoutException:
            raise ServerUnreachable(server=self.server, reason="timeout") from None
        except (httpx.ConnectError, httpx.UnsupportedProtocol, httpx.ProxyError) as error:
            raise ServerUnreachable(server=self.server, reason=_reason(error)) from None
        except httpx.HTTPError as error:  # the connection broke mid-answer, or the answer is not HTTP
            raise ServerError(server=self.server, detail=_reason(error)) from None
        if response.is_success:
            return response
        raise self._error(response)

    def _error(self, response) -> Exception:
        status = response.status_code
        document = _json_or_none(response)
        error = document.get("error") if isinstance(document, dict) else None
        code = error.get("code") if isinstance(error, dict) and isinstance(error.get("code"), str) else None
        if status == 429:
            retry = response.headers.get("Retry-After", "")
            return RateLimited(retry_after=int(retry) if retry.isdigit() else 60)
        if status >= 500 or code is None:
            return ServerError(server=self.server, status=status, detail=code or "not_a_certcli_answer")
        typed = rebuild(code, error.get("data"))
        if typed is None:  # a code this client does not know (a newer server)
            return ServerError(server=self.server, status=status, detail=code)
        return typed

    def json(self, response) -> dict:
        document = _json_or_none(response)
        if not isinstance(document, dict):
            raise ServerError(server=self.server, status=response.status_code, detail="not_a_certcli_answer")
        return document

    def call(self, method: str, path: str, **kwargs) -> dict:
        return self.json(self.request(method, path, **kwargs))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _json_or_none(response):
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return None


def _reason(error: Exception) -> str:
    text = " ".join(str(error).split())
    return text[:200] if text else type(error).__name__


# --- the holder service ----------------------------------------------------------------------

class RemoteHolderService:
    """:class:`certcli.services.holder.HolderService` over ``certcli serve``."""

    def __init__(self, connection: Connection):
        self.connection = connection

    def _get(self, path: str) -> dict:
        return self.connection.call("GET", f"{API}/holder{path}")

    def _post(self, path: str, body: Optional[dict] = None, auth: bool = True) -> dict:
        return self.connection.call("POST", f"{API}/holder{path}", body=body or {}, auth=auth)

    def close(self) -> None:
        self.connection.close()

    # --- account -------------------------------------------------------------------------

    def check_id_number(self, id_type: str, id_number: str) -> str:
        # the same pure rule the server applies, asked here so that a bad number is
        # refused before the password prompt without a round trip
        return rules.normalize_id_number(id_type, id_number)

    def register(self, *, name: str, id_number: str, id_type: str, password: str) -> dict:
        return self._post("/register", {"name": name, "id_number": id_number, "id_type": id_type,
                                        "password": password}, auth=False)

    def _opened(self, document: dict) -> dict:
        token = document.pop("access_token", None)
        document.pop("token_type", None)
        if not isinstance(token, str) or not token:
            raise ServerError(server=self.connection.server, status=200, detail="no_session_token")
        self.connection.keep_token(token)
        return document

    def login(self, *, id_number: str, password: str, id_type: Optional[str] = None) -> dict:
        return self._opened(self._post("/login", {"id_number": id_number, "password": password,
                                                  "id_type": id_type}, auth=False))

    def login_member(self, *, certificate_no: str, password: str, new_password: Optional[str] = None) -> dict:
        return self._opened(self._post("/member/login", {"certificate_no": certificate_no, "password": password,
                                                         "new_password": new_password}, auth=False))

    def logout(self) -> dict:
        if self.connection.token() is None:  # no session with this server (one with another stays)
            return {"logged_out": False}
        try:
            result = self._post("/logout")
        finally:
            self.connection.forget_token()  # gone here even when the server cannot be told
        return {"logged_out": result.get("logged_out") is True}

    def terms(self) -> dict:
        return self._get("/terms")

    def accept_terms(self) -> dict:
        return self._post("/terms/accept")

    # --- certificates --------------------------------------------------------------------

    def certificates(self) -> dict:
        return self._get("/certificates")

    def certificate(self, certificate_no: str) -> dict:
        return self._get(f"/certificates/{segment(certificate_no)}")

    def annotate(self, certificate_no: str, *, scenario: Optional[str] = None, days: int = 90) -> dict:
        return self._post(f"/annotate/{segment(certificate_no)}", {"scenario": scenario, "days": days})

    def renew(self, certificate_no: str, *, days: int = 90) -> dict:
        return self._post(f"/renew/{segment(certificate_no)}", {"days": days})

    def _download(self, document: dict) -> Download:
        """``{"certificate_no", "facts", "pdf": base64}`` (certcli.server.app._pdf)."""
        import base64
        import binascii

        certificate_no, facts, pdf = document.get("certificate_no"), document.get("facts"), document.get("pdf")
        try:
            data = base64.b64decode(pdf, validate=True) if isinstance(pdf, str) else None
        except (binascii.Error, ValueError):
            data = None
        if not isinstance(certificate_no, str) or not isinstance(facts, dict) or data is None:
            raise ServerError(server=self.connection.server, status=200, detail="not_a_certcli_answer")
        return Download(certificate_no, data, facts)

    def download(self, certificate_no: str) -> Download:
        return self._download(self._get(f"/download/{segment(certificate_no)}"))

    # --- membership ----------------------------------------------------------------------

    def member_status(self, *, id_type: str, id_number: str, name: str, approval_no: Optional[str] = None,
                      issue_passwords: Optional[int] = 0) -> dict:
        return self._post("/member/status", {"id_type": id_type, "id_number": id_number, "name": name,
                                             "approval_no": approval_no, "issue_passwords": issue_passwords},
                          auth=False)

    def member_info(self) -> dict:
        return self._get("/member")

    def choose_member_photo(self, source: str) -> dict:
        return self._post("/member/photo", {"source": source})

    def preview_member_details(self, *, mobile: Optional[str] = None, email: Optional[str] = None,
                               birth_date: Optional[str] = None) -> dict:
        return self._post("/member/details/preview", {"mobile": mobile, "email": email, "birth_date": birth_date})

    def confirm_member_details(self, *, mobile: Optional[str] = None, email: Optional[str] = None,
                               birth_date: Optional[str] = None) -> dict:
        return self._post("/member/details/confirm", {"mobile": mobile, "email": email, "birth_date": birth_date})

    def member_download(self, reveal=None) -> Download:
        if isinstance(reveal, tuple):
            reveal = list(reveal)
        return self._download(self._post("/member/download", {"reveal": reveal}))

    # --- paper certificates --------------------------------------------------------------

    def request_paper(self, certificate_no: str, *, method: str, proxy: bool = False,
                      address: Optional[str] = None) -> dict:
        return self._post(f"/paper/{segment(certificate_no)}", {"method": method, "proxy": proxy,
                                                                 "address": address})

    def paper_requests(self) -> dict:
        return self._get("/paper")


# --- the verifier ---------------------------------------------------------------------------

class RemoteVerifier:
    """``verify`` against the public verification API; answers the document ``verify --json``
    prints (instants as datetimes again, as the local verifier gives them)."""

    def __init__(self, connection: Connection):
        self.connection = connection

    def verify(self, *, pdf: Optional[Path] = None, qr: Optional[str] = None, number: Optional[str] = None,
               name: Optional[str] = None) -> dict:
        if pdf is not None:
            from certcli import clock
            from certcli.verification.document import oversize_document, read_pdf

            data = read_pdf(pdf)
            # over the cap: NOT VALID (too_large) as locally, never sent (the server takes no such body)
            document = oversize_document(data, clock.now(), self.connection.lang) or \
                self.connection.call("POST", f"{API}/verify/pdf", content=data, auth=False,
                                     content_type="application/pdf")
        elif qr is not None:
            document = self.connection.call("POST", f"{API}/verify/qr", body={"payload": qr}, auth=False)
        else:
            document = self.connection.call("GET", f"{API}/lookup", params={"number": number, "name": name},
                                            auth=False)
        return self._checked(document)

    def _checked(self, document: dict) -> dict:
        from datetime import datetime

        facts, checks = document.get("facts"), document.get("checks")
        if not isinstance(document.get("valid"), bool) or not isinstance(facts, dict) or \
                not isinstance(checks, list) or not isinstance(document.get("verdict"), str):
            raise ServerError(server=self.connection.server, status=200, detail="not_a_certcli_answer")
        for key in INSTANT_FACTS:
            if isinstance(facts.get(key), str):
                try:
                    facts[key] = datetime.fromisoformat(facts[key])
                except ValueError:
                    pass
        return document

    def close(self) -> None:
        self.connection.close()
