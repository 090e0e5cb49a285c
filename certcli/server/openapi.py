"""The OpenAPI 3.1 document of ``certcli serve`` (``GET /openapi.json``), written by hand
from the routes of :mod:`certcli.server.app`; ``tests/test_server.py`` checks that
every route is described and every description is a route."""
from __future__ import annotations

from certcli import __version__

ERROR = {"$ref": "#/components/schemas/Error"}
OBJECT = {"type": "object"}
TEXT = {"type": "string"}
OPT_TEXT = {"type": ["string", "null"]}
VERIFY = {"$ref": "#/components/schemas/VerifyDocument"}
NUMBER = {"name": "no", "in": "path", "required": True, "schema": TEXT,
          "description": "Certificate number, percent-encoded (it may contain '/')."}


def _body(properties: dict, required: tuple = ()) -> dict:
    return {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "properties": properties, "required": list(required)}}}}


def _op(summary: str, *, body: dict | None = None, auth: bool = True, ok: dict | None = None,
        params: list | None = None, errors: tuple = (400, 401, 403, 404, 409, 413, 422), extra: dict | None = None):
    operation = {"summary": summary, "responses": {
        "200": ok or {"description": "OK", "content": {"application/json": {"schema": OBJECT}}},
        **{str(status): {"$ref": f"#/components/responses/E{status}"} for status in errors}}}
    if body is not None:
        operation["requestBody"] = body
    if params:
        operation["parameters"] = params
    operation["security"] = [{"bearer": []}] if auth else []
    operation.update(extra or {})
    return operation


PDF_OK = {"description": "The signed PDF (base64) and its facts",
          "content": {"application/json": {"schema": {
              "type": "object", "required": ["certificate_no", "facts", "pdf"],
              "properties": {"certificate_no": TEXT, "facts": OBJECT,
                             "pdf": {"type": "string", "contentEncoding": "base64",
                                     "contentMediaType": "application/pdf"}}}}}}
VERIFY_OK = {"description": "The document `certcli verify --json` prints (valid or not)",
             "content": {"application/json": {"schema": VERIFY}}}
SESSION_OK = {"description": "The session is open: the result plus access_token (send it as "
                             "`Authorization: Bearer`; the server keeps only its hash)",
              "content": {"application/json": {"schema": OBJECT}}}
DETAILS = {"mobile": OPT_TEXT, "email": OPT_TEXT, "birth_date": OPT_TEXT}
H = "/api/v1/holder"


def paths() -> dict:
    return {
        "/healthz": {"get": _op("200 once the service is ready", auth=False, errors=())},
        "/openapi.json": {"get": _op("This document", auth=False, errors=())},
        "/trust.pem": {"get": _op("The issuer's public trust bundle (PEM): --trust-bundle, else the latest one "
                                  "`admin trust` signed", auth=False, errors=(404,), ok={
            "description": "PEM", "content": {"application/x-pem-file": {"schema": TEXT}}})},
        "/trust.ledgers/{name}": {"get": _op(
            "A closed seal key's ledger of the documents it signed (KEY_ID.bin, sorted 16-byte digest prefixes)",
            auth=False, errors=(404,), params=[{"name": "name", "in": "path", "required": True, "schema": TEXT}],
            ok={"description": "The ledger", "content": {"application/octet-stream": {
                "schema": {"type": "string", "format": "binary"}}}})},
        "/api/v1/lookup": {"get": _op(
            "Public lookup (证书查验) by number and name; a wrong name looks exactly like an unknown number",
            auth=False, ok=VERIFY_OK, errors=(400, 429), params=[
                {"name": "number", "in": "query", "required": True, "schema": TEXT},
                {"name": "name", "in": "query", "required": True, "schema": TEXT}])},
        "/api/v1/verify/qr": {"post": _op("Verify a QR payload", auth=False, ok=VERIFY_OK, errors=(400, 413, 422),
                                          body=_body({"payload": TEXT}, ("payload",)))},
        "/api/v1/verify/pdf": {"post": _op("Verify a certificate PDF (the body; at most 10 MB by default)",
                                           auth=False, ok=VERIFY_OK, errors=(413,), body={
                                               "required": True, "content": {"application/pdf": {
                                                   "schema": {"type": "string", "format": "binary"}}}})},
        f"{H}/id-number/check": {"post": _op("Normalise and check an ID number (R10)", auth=False,
                                             body=_body({"id_type": TEXT, "id_number": TEXT}, ("id_number",)))},
        f"{H}/register": {"post": _op("Register (R10)", auth=False, body=_body(
            {"name": TEXT, "id_number": TEXT, "id_type": TEXT, "password": TEXT}, ("name", "id_number", "password")),
            errors=(400, 409, 413, 422, 429))},
        f"{H}/login": {"post": _op("Log in; 5 wrong passwords lock the account", auth=False, ok=SESSION_OK, body=_body(
            {"id_number": TEXT, "password": TEXT, "id_type": OPT_TEXT}, ("id_number", "password")),
            errors=(400, 401, 403, 413, 422, 429))},
        f"{H}/logout": {"post": _op("End the session", errors=())},
        f"{H}/terms": {"get": _op("The current service terms (R11)")},
        f"{H}/terms/accept": {"post": _op("Accept the current service terms (R11)")},
        f"{H}/certificates": {"get": _op("Your certificates (R9: empty_reasons when none)")},
        f"{H}/certificates/{{no}}": {"get": _op("One of your certificates with its annotations", params=[NUMBER])},
        f"{H}/annotate/{{no}}": {"post": _op("Apply for an annotation (R1–R3)", params=[NUMBER], body=_body(
            {"scenario": OPT_TEXT, "days": {"type": "integer", "minimum": 1, "maximum": 90}}))},
        f"{H}/renew/{{no}}": {"post": _op("Apply again with the latest scenario", params=[NUMBER], body=_body(
            {"days": {"type": "integer", "minimum": 1, "maximum": 90}}))},
        f"{H}/download/{{no}}": {"get": _op("The signed PDF (R5, R6)", params=[NUMBER], ok=PDF_OK)},
        f"{H}/paper": {"get": _op("Your paper-certificate collection requests")},
        f"{H}/paper/{{no}}": {"post": _op("Request collection of the paper certificate", params=[NUMBER], body=_body(
            {"method": {"type": "string", "enum": ["onsite", "mail"]}, "proxy": {"type": "boolean"},
             "address": OPT_TEXT}, ("method",)))},
        f"{H}/member/status": {"post": _op(
            "Membership application progress (no login); with the approval number, initial passwords",
            auth=False, errors=(400, 401, 413, 422, 429), body=_body(
                {"id_type": TEXT, "id_number": TEXT, "name": TEXT, "approval_no": OPT_TEXT,
                 "issue_passwords": {"type": ["integer", "null"], "minimum": 0}}, ("id_number", "name")))},
        f"{H}/member/login": {"post": _op("Members log in with the certificate number", auth=False, ok=SESSION_OK,
                                          errors=(400, 401, 403, 409, 413, 422, 429), body=_body(
                                              {"certificate_no": TEXT, "password": TEXT, "new_password": OPT_TEXT},
                                              ("certificate_no", "password")))},
        f"{H}/member": {"get": _op("Your membership")},
        f"{H}/member/photo": {"post": _op("Choose the photo", body=_body(
            {"source": {"type": "string", "enum": ["exam", "verified"]}}, ("source",)))},
        f"{H}/member/details/preview": {"post": _op("Personal details as they would be confirmed",
                                                    body=_body(DETAILS))},
        f"{H}/member/details/confirm": {"post": _op("Confirm personal details", body=_body(DETAILS))},
        f"{H}/member/download": {"post": _op("The signed member certificate", ok=PDF_OK, body=_body(
            {"reveal": {"oneOf": [TEXT, {"type": "array", "items": TEXT}, {"type": "null"}]}}))},
    }


RESPONSES = {400: "Malformed request (usage_error, bad_input on the body)", 401: "Not logged in or bad credentials",
             403: "Refused for this session (terms_not_accepted, account_locked, ...)",
             404: "Not found (not_found)", 409: "Refused by a rule (quota_exceeded, annotation_pending, ...)",
             413: "Body too large", 422: "Bad input data (bad_input, invalid_id_number, ...)",
             429: "Too many requests from this address (rate_limited; see Retry-After)"}


PAGE_TYPES = {"page": "text/html", "style.css": "text/css", "trust-data.js": "text/javascript"}


def page_operations(page_paths: dict) -> dict:
    """The verification page's files (path -> what it serves): no JSON, no session."""
    return {path: {"get": _op("The verification page" if what == "page" else f"The verification page's {what}",
                              auth=False, errors=(), ok={"description": what, "content": {
                                  PAGE_TYPES.get(what, "text/javascript"): {"schema": TEXT}}})}
            for path, what in page_paths.items()}


def document(page_paths: dict | None = None) -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "certcli", "version": __version__,
                 "description": "Electronic professional-qualification certificates: the holder service and the "
                                "public verification API.  Every error is {\"error\": {\"code\", \"message\", "
                                "\"data\"}}, the document `certcli --json` prints, with the stable codes of the "
                                "CLI contract."},
        "paths": {**paths(), **page_operations(page_paths or {})},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                    "type": "object", "required": ["code", "message"],
                    "properties": {"code": TEXT, "message": TEXT, "data": OBJECT}}}},
                "VerifyDocument": {"type": "object", "required": ["valid", "kind", "reason", "verdict", "facts",
                                                                  "checks"],
                                   "properties": {"valid": {"type": "boolean"}, "kind": TEXT, "reason": TEXT,
                                                  "verdict": TEXT, "checked_at": OPT_TEXT,
                                                  "clock_overridden": {"type": "boolean"}, "facts": OBJECT,
                                                  "checks": {"type": "array", "items": OBJECT}}},
            },
            "responses": {f"E{status}": {"description": text, "content": {"application/json": {"schema": ERROR}}}
                          for status, text in RESPONSES.items()},
        },
    }
