"""The public trust bundle: the issuer root CA and every seal certificate, as PEM.

Verifiers that have no store (an offline QR check, a relying party) trust
exactly this file.  Each certificate follows ``# key: value`` comment lines;
key ids, names and validity are always read from the certificates themselves,
only ``seal_id``, ``status``, ``rotated_at`` and ``retired_at`` from the comments.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from certcli.errors import BadInput
from certcli.pki.keys import SealInfo, info_from_cert, iso_text, parse_iso_text, subject_value, key_id_of


@dataclass(frozen=True)
class TrustBundle:
    roots: tuple[x509.Certificate, ...]
    seal_certificates: tuple[x509.Certificate, ...]
    keys: dict[str, tuple[SealInfo, ec.EllipticCurvePublicKey]]

    @property
    def root(self) -> x509.Certificate:
        return self.roots[0]

    def public_keys(self) -> dict[str, tuple[SealInfo, ec.EllipticCurvePublicKey]]:
        return dict(self.keys)                 # same shape as IssuerKeys.public_keys()


def bundle_pem(root: x509.Certificate, seals: list[tuple[SealInfo, x509.Certificate]]) -> str:
    """Root + every seal certificate (any status), each after ``# key: value`` lines."""
    parts = ["# certcli trust bundle: issuer root CA and seal certificates (public only)\n",
             _comment_block({"root": subject_value(root, NameOID.COMMON_NAME),
                             "key_id": key_id_of(root.public_key()),
                             "validity": f"{iso_text(root.not_valid_before_utc)} .. "
                                         f"{iso_text(root.not_valid_after_utc)}"}), _pem(root)]
    for info, cert in seals:
        meta = {"seal_id": info.seal_id, "name": info.name, "key_id": info.key_id, "status": info.status,
                "validity": f"{iso_text(info.not_before)} .. {iso_text(info.not_after)}"}
        for name in ("rotated_at", "retired_at"):
            if getattr(info, name) is not None:
                meta[name] = iso_text(getattr(info, name))
        parts += [_comment_block(meta), _pem(cert)]
    return "".join(parts)


def issuer_bundle_pem(keys) -> str:
    """The bundle of an issuer's keys (an :class:`certcli.pki.keys.IssuerKeys`):
    root + every seal certificate, any status."""
    return bundle_pem(keys.root_certificate(), keys.seal_certificates())


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _comment_block(meta: dict) -> str:
    return "".join(f"# {k}: {' '.join(str(v).split())}\n" for k, v in meta.items())


_PEM_RE = re.compile(r"-----BEGIN CERTIFICATE-----\r?\n.*?-----END CERTIFICATE-----", re.S)


def parse_trust_bundle(pem_text: str) -> TrustBundle:
    """Parse :func:`issuer_bundle_pem` output (or any PEM list of a root + seals).

    Key ids, names and validity always come from the certificates; only
    ``seal_id``, ``status``, ``rotated_at`` and ``retired_at`` come from the comment lines.
    Seal certificates not issued by a root in the bundle are rejected.
    """
    if "PRIVATE KEY" in pem_text:
        raise BadInput(field="--trust", reason="trust_bundle_contains_private_key")
    roots: list[x509.Certificate] = []
    leaves: list[tuple[x509.Certificate, dict]] = []
    pos = 0
    for match in _PEM_RE.finditer(pem_text):
        meta = {}
        for line in pem_text[pos:match.start()].splitlines():
            line = line.strip()
            if line.startswith("#") and ":" in line:
                k, _, v = line[1:].partition(":")
                meta[k.strip()] = v.strip()
        pos = match.end()
        try:
            cert = x509.load_pem_x509_certificate(match.group(0).encode("ascii"))
        except ValueError as exc:
            raise BadInput(field="--trust", reason="trust_bundle_bad_certificate") from exc
        if _is_ca(cert):
            roots.append(cert)
        else:
            leaves.append((cert, meta))
    if not roots:
        raise BadInput(field="--trust", reason="trust_bundle_without_root")
    keys: dict[str, tuple[SealInfo, ec.EllipticCurvePublicKey]] = {}
    for cert, meta in leaves:
        if not any(_issued_by(cert, root) for root in roots):
            raise BadInput(field="--trust", reason="trust_bundle_foreign_certificate")
        public_key = cert.public_key()
        if not isinstance(public_key, ec.EllipticCurvePublicKey):
            continue
        status = meta.get("status", "active")
        if status not in ("active", "rotated", "retired"):
            raise BadInput(field="--trust", reason="trust_bundle_bad_status")
        try:
            retired_at = parse_iso_text(meta.get("retired_at"))
            rotated_at = parse_iso_text(meta.get("rotated_at"))
        except ValueError as exc:
            raise BadInput(field="--trust", reason="trust_bundle_bad_date") from exc
        info = info_from_cert(cert, meta.get("seal_id", ""), status, retired_at, rotated_at)
        keys[info.key_id] = (info, public_key)
    return TrustBundle(roots=tuple(roots), seal_certificates=tuple(c for c, _ in leaves),
                       keys=keys)


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
        return True
    except (InvalidSignature, ValueError, TypeError):
        return False
