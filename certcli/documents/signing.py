"""PAdES certification signatures (pyHanko) and a small validation wrapper.

``pyhanko.sign`` costs ~300 ms to import, so every pyHanko import lives inside a
function here; importing this module itself is cheap.

What a signature is: PAdES B-B (``/ETSI.CAdES.detached``) *certification*
signature, DocMDP P=1 (no changes), ECDSA P-256 + SHA-256, seal certificate and
root embedded, invisible field ``CertcliSeal``.  The ECDSA value is always
low-S (:func:`certcli.documents.cms.low_s`): verification accepts only the
canonical DER certcli writes (``certcli.verification.cms``).

Speed (``PdfSealSigner`` is built once per seal and reused):

* pyHanko's ``SimpleSigner`` re-parses the private key on every signature; our
  ``Signer`` subclass signs with the already-loaded ``cryptography`` key.
* ``bytes_reserved`` is computed from the certificate sizes, so pyHanko does no
  dry-run signature to estimate the CMS size.
* asn1crypto rebuilding the CMS costs ~17 ms per document, so the plain PAdES
  CMS is spliced into a byte template that pyHanko's own code produced once.

Time: nothing here reads the clock.  PAdES forbids the CMS ``signingTime``
attribute, the claimed time is the signature dictionary's ``/M``; pyHanko takes
it from ``PdfSigningSession.system_time`` (default: wall clock) and our
``PdfSigner`` subclass sets that to ``signing_time``.  The writer's /Info
``ModDate`` and XMP ``ModifyDate`` (default: wall clock) are pinned to it too.
"""
from __future__ import annotations

import copy
import os
from datetime import datetime
from io import BytesIO
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from certcli.documents.cms import low_s
from certcli.errors import BadInput

if TYPE_CHECKING:  # pragma: no cover
    from certcli.pki.keys import LoadedSeal

FIELD_NAME = "CertcliSeal"
DEFAULT_REASON = "证书签发"
_classes: dict | None = None


def _asn1_cert(cert: x509.Certificate):
    from asn1crypto import x509 as asn1_x509
    return asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))


def _pyhanko_classes() -> dict:
    """Define (once) the pyHanko subclasses; imports pyHanko lazily."""
    global _classes
    if _classes is not None:
        return _classes
    from asn1crypto import algos, cms
    from pyhanko.pdf_utils.metadata.model import DocumentMetadata
    from pyhanko.sign.signers import PdfSigner
    from pyhanko.sign.signers.pdf_cms import Signer
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    # pyHanko names its CMS attributes ('signing_certificate_v2') by adding them to
    # asn1crypto's OID map on import, but not to the name -> OID map asn1crypto caches on
    # first use: if anything in this process used CMS attributes before (a verification, in a
    # long-lived process), that cache lacks them and signing fails.  Bring it up to date.
    attribute_type = cms.CMSAttributeType
    if attribute_type._reverse_map is not None:
        attribute_type._reverse_map.update({name: oid for oid, name in attribute_type._map.items()})

    class LoadedKeySigner(Signer):
        """A Signer around an already-loaded ``cryptography`` EC private key.

        For the plain PAdES case (no timestamp, no extra attributes) ``async_sign``
        fills a byte template of pyHanko's *own* CMS output: the template is
        produced once per signature length by pyHanko's regular code path with
        marker bytes for the message digest and the signature value, so the DER
        structure is exactly pyHanko's; per document we only splice in the digest
        and the ECDSA signature (asn1crypto re-encoding costs ~17 ms otherwise).
        """

        def __init__(self, private_key: ec.EllipticCurvePrivateKey, signing_cert, chain):
            super().__init__(
                signing_cert=signing_cert,
                cert_registry=SimpleCertificateStore.from_certs(chain),
                signature_mechanism=algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}),
                embed_roots=True,
            )
            self._key = private_key
            self._placeholder: bytes | None = None
            self._attrs: tuple[bytes, bytes] | None = None       # signed attrs around digest
            self._templates: dict[int, tuple[bytes, bytes, bytes]] = {}

        async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run=False) -> bytes:
            if self._placeholder is not None:
                return self._placeholder
            if digest_algorithm != "sha256":
                raise ValueError(f"unexpected digest {digest_algorithm}")
            return low_s(self._key.sign(data, ec.ECDSA(hashes.SHA256())))

        async def _template(self, sig_len: int) -> tuple[bytes, bytes, bytes]:
            """pyHanko-built CMS DER split around the digest and signature markers."""
            digest_mark, sig_mark = os.urandom(32), os.urandom(sig_len)
            probe = copy.copy(self)              # same certs; "signs" with the marker
            probe._placeholder = sig_mark
            attrs = await probe.signed_attrs(digest_mark, "sha256", use_pades=True)
            der = (await probe.async_sign_prescribed_attributes("sha256", attrs)).dump()
            attrs_der = attrs.dump()
            if attrs_der.count(digest_mark) != 1 or der.count(digest_mark) != 1 \
                    or der.count(sig_mark) != 1 or der.index(digest_mark) > der.index(sig_mark):
                raise RuntimeError("unexpected CMS layout")
            self._attrs = tuple(attrs_der.split(digest_mark))
            head, rest = der.split(digest_mark)
            middle, tail = rest.split(sig_mark)
            return head, middle, tail

        async def async_sign(self, data_digest, digest_algorithm, dry_run=False, use_pades=False,
                             timestamper=None, signed_attr_settings=None, is_pdf_sig=True,
                             encap_content_info=None):
            settings = signed_attr_settings
            plain = (use_pades and is_pdf_sig and not dry_run and timestamper is None
                     and encap_content_info is None and digest_algorithm == "sha256"
                     and len(data_digest) == 32 and not self.attribute_certs
                     and (settings is None or (settings.cades_signed_attrs is None and
                                               getattr(settings, "adobe_revinfo_attr", None) is None)))
            if not plain:
                return await super().async_sign(
                    data_digest, digest_algorithm, dry_run=dry_run, use_pades=use_pades,
                    timestamper=timestamper, signed_attr_settings=signed_attr_settings,
                    is_pdf_sig=is_pdf_sig, encap_content_info=encap_content_info)
            if self._attrs is None:
                self._templates[72] = await self._template(72)
            signed = self._attrs[0] + data_digest + self._attrs[1]
            signature = low_s(self._key.sign(signed, ec.ECDSA(hashes.SHA256())))
            template = self._templates.get(len(signature))
            if template is None:
                template = self._templates[len(signature)] = await self._template(len(signature))
            head, middle, tail = template
            return cms.ContentInfo.load(head + data_digest + middle + signature + tail)

    class TimedPdfSigner(PdfSigner):
        """PdfSigner whose claimed signing time (/M) is injected, not the wall clock."""

        def __init__(self, *args, signing_time: datetime, **kwargs):
            super().__init__(*args, **kwargs)
            self._signing_time = signing_time

        def init_signing_session(self, pdf_out, existing_fields_only=False):
            session = super().init_signing_session(pdf_out, existing_fields_only)
            session.system_time = self._signing_time
            return session

    class PinnedTimeMetadata(DocumentMetadata):
        """The writer sets ``last_modified = 'now'`` (wall clock) just before output;
        we keep the injected time instead, so /Info ModDate and XMP ModifyDate
        equal the signing time."""

        def __init__(self, pinned: datetime):
            object.__setattr__(self, "_pinned", pinned)
            super().__init__(last_modified=pinned)

        def __setattr__(self, name, value):
            if name == "last_modified" and value == "now":
                value = self._pinned
            super().__setattr__(name, value)

    _classes = {"LoadedKeySigner": LoadedKeySigner, "TimedPdfSigner": TimedPdfSigner,
                "PinnedTimeMetadata": PinnedTimeMetadata}
    _quiet_pyhanko_logs()
    return _classes


def _quiet_pyhanko_logs() -> None:
    """Library etiquette: pyHanko logs diff-analysis failures with tracebacks at ERROR;
    without any handler Python's last-resort handler would print them to stderr.
    A NullHandler stops that; an application that configures logging still sees them."""
    import logging

    logger = logging.getLogger("pyhanko")
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())


class PdfSealSigner:
    """Certify PDFs with one seal key; build once, sign many documents."""

    def __init__(self, seal: LoadedSeal):
        from pyhanko.sign.fields import SigFieldSpec

        classes = _pyhanko_classes()
        self.seal = seal
        signing_cert = _asn1_cert(seal.certificate)
        chain = [_asn1_cert(c) for c in seal.chain]
        self._signer = classes["LoadedKeySigner"](seal.private_key, signing_cert, chain)
        self._field_spec = SigFieldSpec(sig_field_name=FIELD_NAME)  # no box: invisible
        # DER sizes of the embedded certificates + signed attributes, signature and
        # CMS framing (< 600 bytes in practice); doubled because /Contents is hex.
        cms_estimate = sum(len(c.dump()) for c in [signing_cert, *chain]) + 1024
        self._bytes_reserved = 2 * cms_estimate

    def sign(self, pdf: bytes, *, signing_time: datetime, reason: str = DEFAULT_REASON,
             location: str | None = None) -> bytes:
        if signing_time.tzinfo is None or signing_time.utcoffset() is None:
            raise ValueError("signing_time must be timezone-aware")
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.pdf_utils.misc import PdfReadError
        from pyhanko.sign.fields import MDPPerm, SigSeedSubFilter
        from pyhanko.sign.signers import PdfSignatureMetadata

        meta = PdfSignatureMetadata(
            field_name=FIELD_NAME,
            md_algorithm="sha256",
            subfilter=SigSeedSubFilter.PADES,
            certify=True,
            docmdp_permissions=MDPPerm.NO_CHANGES,
            reason=reason,
            location=location,
            name=self.seal.info.name,
        )
        classes = _pyhanko_classes()
        pdf_signer = classes["TimedPdfSigner"](
            meta, signer=self._signer, new_field_spec=self._field_spec,
            signing_time=signing_time)
        try:
            writer = IncrementalPdfFileWriter(BytesIO(pdf))
        except PdfReadError as exc:
            raise BadInput(field="PDF", reason="unreadable_pdf") from exc
        # pyHanko has no public setter for the writer's metadata object.
        writer._meta = classes["PinnedTimeMetadata"](signing_time)
        out = pdf_signer.sign_pdf(writer, bytes_reserved=self._bytes_reserved)
        return out.getvalue()


def stock_sign(seal: LoadedSeal, pdf: bytes, *, reason: str = DEFAULT_REASON) -> bytes:
    """Reference implementation with stock ``SimpleSigner`` (benchmarks/tests only).

    Uses pyHanko's own clock for /M and a dry run to size the signature.
    """
    from asn1crypto import keys as asn1_keys
    from cryptography.hazmat.primitives import serialization
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    key_info = asn1_keys.PrivateKeyInfo.load(seal.private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    signer = signers.SimpleSigner(
        signing_cert=_asn1_cert(seal.certificate), signing_key=key_info,
        cert_registry=SimpleCertificateStore.from_certs([_asn1_cert(c) for c in seal.chain]))
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME, md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES,
        certify=True, docmdp_permissions=fields.MDPPerm.NO_CHANGES, reason=reason)
    return signers.sign_pdf(IncrementalPdfFileWriter(BytesIO(pdf)), meta, signer=signer).getvalue()


_RESULT_KEYS = ("signed", "signature_count", "field", "intact", "valid", "trusted", "revoked",
                "coverage", "unmodified", "modification_level", "docmdp_ok", "certification",
                "docmdp", "signer_subject", "signer_key_id", "signing_time", "summary",
                "bottom_line", "error")


def validate_with_pyhanko(pdf: bytes, root: x509.Certificate, now: datetime) -> dict:
    """Validate the first (certification) signature, trusting only ``root`` at ``now``.

    Always returns a dict with the same keys: ``signed`` (False: no signature),
    ``signature_count``, ``field``, ``intact`` (document digest matches),
    ``valid`` (signature math), ``trusted`` (chain to ``root`` valid at ``now``),
    ``revoked``, ``coverage`` (``ENTIRE_FILE`` / ``ENTIRE_REVISION`` / ...),
    ``unmodified`` (coverage is the entire file: nothing appended after signing),
    ``modification_level``, ``docmdp_ok``, ``certification`` (this signature is the
    document's certification signature), ``docmdp`` (its permission, e.g.
    ``NO_CHANGES``), ``signer_subject``, ``signer_key_id``, ``signing_time``
    (claimed /M), ``summary`` (pyHanko's, e.g. ``INTACT:TRUSTED,UNTOUCHED``),
    ``bottom_line`` (pyHanko's overall verdict) and ``error`` (why a signature
    could not be checked at all, else None).
    Raises :class:`BadInput` only when the bytes are not a readable PDF.
    """
    from pyhanko.pdf_utils.misc import PdfReadError
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.fields import enumerate_sig_fields
    from pyhanko.sign.validation import read_certification_data, validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    from certcli.pki.keys import key_id_of, quiet_subject

    _quiet_pyhanko_logs()
    result = dict.fromkeys(_RESULT_KEYS)
    result.update(signed=False, signature_count=0, intact=False, valid=False, trusted=False,
                  unmodified=False, certification=False, bottom_line=False)
    try:
        reader = PdfFileReader(BytesIO(pdf))
        fields = list(enumerate_sig_fields(reader, filled_status=True))
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BadInput(field="PDF", reason="unreadable_pdf") from exc
    if not fields:
        return result
    result.update(signed=True, signature_count=len(fields))
    try:
        signatures = reader.embedded_signatures
        sig = signatures[0]
        vc = ValidationContext(trust_roots=[_asn1_cert(root)], moment=now,
                               allow_fetching=False, revocation_mode="soft-fail")
        status = validate_pdf_signature(sig, vc)
        cert_data = read_certification_data(reader)
    except Exception as exc:  # noqa: BLE001 - any failure to parse/check = not valid
        result["error"] = f"{type(exc).__name__}: {exc}"
        return result
    signer = x509.load_der_x509_certificate(status.signing_cert.dump())
    level = status.modification_level
    result.update(
        signature_count=len(signatures),
        field=sig.field_name,
        intact=bool(status.intact),
        valid=bool(status.valid),
        trusted=bool(status.trusted),
        revoked=bool(status.revoked),
        coverage=status.coverage.name if status.coverage is not None else None,
        # SPEC: *any* change after signing counts.  pyHanko's own verdict tolerates
        # some appended updates (e.g. /Info edits count as LTA_UPDATES); this doesn't.
        unmodified=status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
        modification_level=level.name if level is not None else None,
        docmdp_ok=status.docmdp_ok,
        certification=cert_data is not None and _same_object(cert_data.author_sig,
                                                             sig.sig_object),
        docmdp=(cert_data.permission.name
                if cert_data is not None and cert_data.permission is not None else None),
        signer_subject=quiet_subject(signer).rfc4514_string(),
        signer_key_id=key_id_of(signer.public_key()),
        signing_time=sig.self_reported_timestamp,
        summary=status.summary(),
        bottom_line=bool(status.bottom_line),
    )
    return result


def _same_object(a, b) -> bool:
    """True when two (dereferenced) PDF objects are the same indirect object."""
    ref_a, ref_b = getattr(a, "container_ref", None), getattr(b, "container_ref", None)
    if ref_a is not None and ref_b is not None:
        return ref_a == ref_b
    return a is b or a == b
