"""``verify FILE.pdf``: fail-closed checks of a signed certificate PDF.

Three stages, cheapest and most paranoid first:

1. **Raw bytes, no parser.**  Exactly one ``/ByteRange``; it starts at 0, its
   gap is exactly the ``/Contents <hex>`` value of the same object, and it ends
   at the last byte of the file: an appended revision (incremental-saving,
   shadow and certification attacks), trailing junk, a moved range (signature
   wrapping) or an emptied ``/Contents`` (universal signature forgery) stop here.
2. **The CMS, still no PDF parser.**  The signature container must have the
   strict shape certcli writes (nothing unsigned added, only our root besides
   the seal certificate); its message digest must match the signed bytes, its
   ESS signing-certificate attribute the embedded certificate, and its
   signature must verify with a seal key we trust.  Only a file that is byte for
   byte what one of our seal keys signed goes further, so no hostile file ever
   reaches a PDF parser or a decompressor.
3. **The document.**  Classic xref tables only (nothing to inflate to find an
   object); then pyHanko's reader, with decoding limits, confirms the one
   signature field is the DocMDP certification (P=1, no changes) at exactly the
   range checked above, and gives the signing time and the signed QR payload
   (certificate number, annotation window).  The seal certificate must be issued
   by the trusted root, be made for signing, and be in force at ``now``.

pyHanko's full validator (``signing.validate_with_pyhanko``) is not on this
path: importing ``pyhanko.sign`` alone costs more than the whole check; the
tests cross-check every genuine document with it, with ``pyhanko sign
validate`` and with poppler's ``pdfsig``.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from io import BytesIO

from certcli.documents.cms import signed_digest
from certcli.verification import issued
from certcli.verification.claims import after_expiry, decode_qr, seal_check, status_check, window_check
from certcli.verification.cms import check_cms
from certcli.verification.context import PDF_CHECKS, Context, Located, Verdict, refused_unread
from certcli.verification.context import Reject as _Reject
MAX_CONTENTS_HEX = 64 * 1024          # ours is ~4 KiB of hex
_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*(\d{1,10})\s+(\d{1,10})\s+(\d{1,10})\s+(\d{1,10})\s*\]")
_HEX = re.compile(rb"[0-9A-F]*")      # pyHanko writes upper case; anything else was edited
_CONTENTS_KEY = re.compile(rb"/Contents\s*$")
_ENCRYPT = re.compile(rb"/Encrypt\b")
_SIGNATURE_DICT = re.compile(rb"/(?:Type|FT)\s*/Sig\b")
_APPENDED_REVISION = re.compile(rb"%%EOF|startxref|xref|\bobj\b|trailer")
_STARTXREF = re.compile(rb"startxref\s+(\d{1,10})\s+%%EOF\s*$")
_PREV = re.compile(rb"/Prev\s+(\d{1,10})")
_ONE_SECOND = timedelta(seconds=1)


def _fail(check: str, reason: str) -> Located:
    return Located(check, reason)


def locate_signature(data: bytes) -> Located:
    """Stage 1: where the one signature sits, from raw bytes only."""
    unread = refused_unread(data)          # not a PDF, or too large
    if unread:
        return _fail("pdf_structure", unread)
    if _ENCRYPT.search(data):
        return _fail("pdf_structure", "encrypted")
    count = data.count(b"/ByteRange")
    if count == 0:
        if not data.rstrip(b"\r\n\t\f\0 ").endswith(b"%%EOF"):
            return _fail("pdf_structure", "truncated")
        return _fail("byte_range", "bad_byte_range" if _SIGNATURE_DICT.search(data) else "unsigned")
    if count > 1:
        return _fail("byte_range", "multiple_signatures")
    where = data.index(b"/ByteRange")
    match = _BYTE_RANGE.match(data, where)
    if match is None:
        return _fail("byte_range", "bad_byte_range")
    a, b, c, d = (int(x) for x in match.groups())
    if c + d > len(data) and a == 0 and 0 < b < c:
        return _fail("pdf_structure", "truncated")
    if a != 0 or not 0 < b < c or c + d > len(data) or c - b > MAX_CONTENTS_HEX + 2:
        return _fail("byte_range", "bad_byte_range")
    low, high = min(b, where), max(c, match.end())
    between = data[low:b] + data[c:high]          # around the gap: must stay inside one object
    if b"obj" in between or b"stream" in between:
        return _fail("byte_range", "bad_byte_range")
    gap = data[b:c]
    if not _CONTENTS_KEY.search(data, max(0, b - 32), b):
        start = max(0, data.rfind(b"obj", 0, low))
        end = data.find(b"endobj", high)
        dictionary = data[start:b] + data[c:end if end > 0 else high]
        return _fail("byte_range", "contents_missing" if b"/Contents" not in dictionary else "bad_byte_range")
    if len(gap) < 2 or gap[:1] != b"<" or gap[-1:] != b">" or not _HEX.fullmatch(gap, 1, len(gap) - 1) \
            or len(gap) % 2:
        return _fail("byte_range", "bad_byte_range")
    if not gap[1:-1].strip(b"0"):
        return _fail("byte_range", "contents_missing")
    if c + d < len(data):
        tail = data[c + d:]
        return _fail("coverage", "incremental_update" if _APPENDED_REVISION.search(tail) else "trailing_data")
    return Located("", "ok", b, c, d, bytes.fromhex(gap[1:-1].decode("ascii")))


def classic_xref_chain(data: bytes) -> bool:
    """Every revision uses a classic xref table (what reportlab and pyHanko write for
    us): no cross-reference or object streams, so a parser decompresses nothing to
    find objects."""
    match = _STARTXREF.search(data, max(0, len(data) - 1024))
    offset, seen = (int(match.group(1)) if match else -1), 0
    while offset >= 0:
        seen += 1
        if seen > 16 or not data.startswith(b"xref", offset):
            return False
        start = data.find(b"trailer", offset)
        end = data.find(b"startxref", start)
        if start < 0 or end < 0 or b"/XRefStm" in data[start:end]:
            return False
        prev = _PREV.search(data, start, end)
        if prev is None:
            return True
        if int(prev.group(1)) >= offset:
            return False
        offset = int(prev.group(1))
    return False


def _decode_limits():
    from pyhanko.pdf_utils.decode_limits import DecodeLimits, DocumentDecodeBudget, StreamDecodeLimits

    mib = 2**20
    return DecodeLimits(per_stream=StreamDecodeLimits(max_ratio=200, ratio_floor=mib, max_output_size=16 * mib),
                        document_budget=DocumentDecodeBudget(base_allowance=32 * mib, max_ratio=20))


def document_stage(data: bytes, found: Located) -> dict:
    """Stage 3: read the authenticated file as a PDF (pyHanko's reader, with decoding
    limits) and check what the raw bytes cannot say: the signature field is the
    only one and is the document's DocMDP certification with no changes allowed,
    the parser sees exactly the /ByteRange and /Contents stage 1 checked, the
    claimed signing time, and the signed QR payload in the document information."""
    from pyhanko.pdf_utils.generic import parse_pdf_date
    from pyhanko.pdf_utils.misc import PdfDecodeLimitError
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        reader = PdfFileReader(BytesIO(data), strict=True, decode_limits=_decode_limits())
        fields = _signature_fields(reader.root)
        if len(fields) != 1:
            raise _Reject("byte_range", "multiple_signatures" if fields else "unsigned")
        field = fields[0]
        own = field.raw_get("/V")
        sig = own.get_object()
        contents = sig.raw_get("/Contents")
        if [int(x) for x in sig["/ByteRange"]] != [0, found.b, found.c, found.d] or \
                getattr(contents, "original_bytes", None) != found.contents:
            raise _Reject("byte_range", "bad_byte_range")      # the parser reads another signature
        if _get(sig, "/Type") != "/Sig" or _get(sig, "/SubFilter") != "/ETSI.CAdES.detached":
            raise _Reject("certification", "not_certified")
        perms = _get(reader.root, "/Perms")
        author = perms.raw_get("/DocMDP") if perms is not None and "/DocMDP" in perms else None
        permission = None
        for reference in _get(sig, "/Reference", ()):
            reference = reference.get_object()
            if _get(reference, "/TransformMethod") == "/DocMDP":
                permission = int(_get(reference["/TransformParams"], "/P", 2))
        info = reader.trailer["/Info"] if "/Info" in reader.trailer else None
        payload = _get(info, "/CertcliQR") if info is not None else None
        return {"certified": author is not None and _ref(author) == _ref(own), "no_changes": permission == 1,
                "signing_time": parse_pdf_date(sig["/M"]) if "/M" in sig else None,
                "payload": str(payload) if payload is not None else None}
    except _Reject:
        raise
    except PdfDecodeLimitError:
        raise _Reject("pdf_structure", "stream_too_large") from None
    except Exception as error:  # noqa: BLE001 - any parser failure on odd input means "not valid"
        raise _Reject("pdf_structure", "unreadable_pdf", type(error).__name__) from None


def _ref(obj) -> tuple:
    """(object number, generation) of an indirect reference; direct objects never match."""
    return (getattr(obj, "idnum", None), getattr(obj, "generation", None)) if hasattr(obj, "idnum") else (id(obj),)


def _get(dictionary, key: str, default=None):
    """pyHanko's ``dict.get`` does not dereference; ``[]`` does."""
    return dictionary[key] if key in dictionary else default


def _signature_fields(root) -> list:
    """Every signature field of the AcroForm (filled or not), walking /Kids."""
    form = _get(root, "/AcroForm")
    if form is None:
        return []
    found, todo, visited = [], [(item, None) for item in _get(form, "/Fields", ())], 0
    while todo:
        item, inherited = todo.pop()
        visited += 1
        if visited > 256:
            raise _Reject("pdf_structure", "unsupported_structure")
        field = item.get_object()
        kind = _get(field, "/FT", inherited)
        kids = _get(field, "/Kids")
        if kids:
            todo += [(kid, kind) for kid in kids]
        elif kind == "/Sig":
            found.append(field)
    return found


def signer_check(verdict: Verdict, info, signer, context: Context, now: datetime,
                 found: issued.Issued | None = None, signed_at: datetime | None = None) -> None:
    """The ``signer_chain`` check: the embedded seal certificate is issued by the
    trusted root, made for signing, and it and the root are in force at ``now``, or,
    once ended, were in force when the issuer signed this recorded document (the chain
    model: ``found``, the registry's or ledger's answer; ``valid_at_signing``).
    The key itself was matched against the trusted seal keys in stage 2."""
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature

    root = context.root
    try:
        signer.verify_directly_issued_by(root)
        usage = signer.extensions.get_extension_for_class(x509.KeyUsage).value
        constraints = signer.extensions.get_extension_for_class(x509.BasicConstraints).value
        made_for_signing = (usage.digital_signature or usage.content_commitment) and not constraints.ca
    except (InvalidSignature, ValueError, TypeError, x509.ExtensionNotFound):
        made_for_signing = False
    not_before = max(info.not_before, signer.not_valid_before_utc)
    not_after = min(info.not_after, signer.not_valid_after_utc, root.not_valid_after_utc)
    if not made_for_signing:
        verdict.add("signer_chain", False, "untrusted_signer", info.key_id)
    elif now >= not_after:
        ok, reason = after_expiry(not_before, not_after, signed_at, now, found, issued.vouched(context, now))
        verdict.add("signer_chain", ok, "valid_at_signing" if ok else reason,
                    (info.seal_id or info.key_id) if ok else info.key_id)
    elif now < not_before or now < root.not_valid_before_utc:
        verdict.add("signer_chain", False, "seal_not_yet_valid", info.key_id)
    else:
        verdict.add("signer_chain", True, detail=info.seal_id or info.key_id)


def verify_pdf(data: bytes, context: Context, now: datetime) -> Verdict:
    context.require_trust()
    verdict = Verdict("pdf", checked_at=now)
    issued.note_bundle(verdict, context, now)
    found = locate_signature(data)
    if found.check:
        for name in PDF_CHECKS[:PDF_CHECKS.index(found.check)]:
            verdict.add(name, True)
        verdict.add(found.check, False, found.reason)
        return verdict.skip_rest(PDF_CHECKS)
    for name in ("pdf_structure", "byte_range", "coverage"):
        verdict.add(name, True)
    try:
        key_id, seal, signer = check_cms(data, found, context)
        verdict.add("signature", True)
        if seal is None:
            from cryptography.exceptions import InvalidSignature

            try:
                signer.verify_directly_issued_by(context.root)
                reason = "unknown_seal_key"
            except (InvalidSignature, ValueError, TypeError):
                reason = "untrusted_signer"
            raise _Reject("signer_chain", reason, key_id)
        if not classic_xref_chain(data):
            raise _Reject("pdf_structure", "unsupported_structure")
        result = document_stage(data, found)
    except _Reject as reject:
        check = verdict.get(reject.check)
        if check is None:
            verdict.add(reject.check, False, reject.reason, reject.detail)
        else:
            check.ok, check.reason, check.detail = False, reject.reason, reject.detail
        return verdict.skip_rest(PDF_CHECKS)
    info = seal[0]
    signed_at = result["signing_time"]
    # the claims first: whether the issuer recorded this PDF decides, once its seal certificate
    # has ended, whether it still counts (the chain model); the checks are listed in PDF_CHECKS order
    claims = _document_claims(verdict, result, key_id, context)
    recorded = None if claims is None else \
        issued.lookup(context, "pdf", signed_digest(data, found.b, found.c, found.d), claims, info)
    signer_check(verdict, info, signer, context, now, recorded, signed_at)
    if signed_at is None:
        verdict.add("seal_key", False, "seal_not_valid_at_signing", "no signing time")
    else:
        seal_check(verdict, info, signed_at, now, evidence=recorded, vouched=issued.vouched(context, now))
    if not result["certified"] or not result["no_changes"]:
        verdict.add("certification", False, "not_certified")
    else:
        verdict.add("certification", True)
    if claims is not None:
        issued.scope_check(verdict, context, claims, info)
        issued.add_issued(verdict, recorded, info)
        status_check(verdict, context, claims.certificate_no, now)
        window_check(verdict, claims.valid_from, claims.valid_until, now)
    verdict.facts["signed_at"] = signed_at
    return verdict.skip_rest(PDF_CHECKS)


def _document_claims(verdict: Verdict, result: dict, key_id: str, context: Context):
    """The signed QR payload in the document information (certificate number, window), or
    None (``qr_signature`` failed).  What it names is then looked up: did the issuer issue
    exactly this PDF (its digest over the /ByteRange, the CMS messageDigest;
    :mod:`certcli.verification.issued`)?  A stolen key can backdate /M: a retired key's
    signature counts only on a document the issuer recorded."""
    if not result["payload"]:
        verdict.add("qr_signature", False, "missing_qr")
        return None
    decoded = decode_qr(verdict, result["payload"], context)
    if decoded is None:
        return None
    claims = decoded[0]
    signed_at = result["signing_time"]
    if claims.key_id != key_id or (claims.valid_from is not None and (
            signed_at is None or abs(claims.valid_from - signed_at) > _ONE_SECOND)):
        check = verdict.get("qr_signature")
        check.ok, check.reason = False, "qr_mismatch"
        return None
    return claims
