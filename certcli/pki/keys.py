"""Issuer PKI: a root CA and the seal certificates it signs.

Layout of ``keys_dir`` (0700)::

    manifest.json            public metadata: root + every seal key (any status)
    root-<key_id>.key.pem    encrypted PKCS#8 (0600)
    root-<key_id>.cert.pem
    seal-<seal_id>-<key_id>.key.pem / .cert.pem

Private keys are PKCS#8 PEM encrypted with the passphrase (cryptography's
``BestAvailableEncryption``).  Every write is atomic (temp file + ``os.replace``)
and the manifest is written last, so an interrupted operation leaves no
half-visible key.  Nothing here reads the clock: callers pass ``now``.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from certcli import rules
from certcli.errors import BadInput, KeyProblem, NotFound, WrongPassphrase
from certcli.home import ensure_private_dir, write_private

MANIFEST = "manifest.json"
MINISTRY_SEAL_ID = "ministry"
MINISTRY_SEAL_NAME = "中华人民共和国人力资源和社会保障部专业技术人员职业资格证书专用章"
ROOT_YEARS = 20
SEAL_YEARS = 10
BACKDATE = timedelta(days=1)
_SEAL_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_UTC = timezone.utc

# cryptography warns (UserWarning) whenever it builds or *reads* a CN longer than 64
# UTF-8 bytes; RFC 5280's bound is 64 characters, which our Chinese seal names
# respect.  Silence exactly that message, process-wide (so any caller reading
# ``cert.subject`` stays quiet) and locally (pytest resets global filters).
_CN_WARNING = "Attribute's length must be"
warnings.filterwarnings("ignore", message=_CN_WARNING, category=UserWarning)


def quiet_subject(cert: x509.Certificate) -> x509.Name:
    """``cert.subject`` without cryptography's long-CN UserWarning."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_CN_WARNING, category=UserWarning)
        return cert.subject


@dataclass(frozen=True)
class SealInfo:
    seal_id: str
    name: str
    key_id: str
    not_before: datetime
    not_after: datetime
    status: str                       # "active" | "rotated" | "retired"
    retired_at: datetime | None = None
    rotated_at: datetime | None = None  # when a newer key took over this seal


@dataclass
class LoadedSeal:
    info: SealInfo
    private_key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    chain: list[x509.Certificate]     # [root]


# --------------------------------------------------------------------------- helpers

def key_id_of(public_key) -> str:
    """First 8 bytes of SHA-256 over the SubjectPublicKeyInfo DER, hex."""
    spki = public_key.public_bytes(serialization.Encoding.DER,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).digest()[:8].hex()


def _aware(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(_UTC)


def iso_text(dt: datetime | None) -> str | None:
    return None if dt is None else dt.astimezone(_UTC).isoformat().replace("+00:00", "Z")


def parse_iso_text(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(_UTC) if text else None


def _add_years(dt: datetime, years: int) -> datetime:
    try:
        return dt.replace(year=dt.year + years)
    except ValueError:                                   # 29 February
        return dt.replace(year=dt.year + years, day=28)


def _name(cn: str, org: str) -> x509.Name:
    # RFC 5280 bounds CN/O at 64 *characters*; cryptography counts UTF-8 bytes (a
    # 32-character Chinese seal name is 96 bytes), so we check characters ourselves.
    if not 1 <= len(cn) <= 64 or not 1 <= len(org) <= 64:
        raise BadInput(field="seal_name", value=cn[:80], reason="length_1_64")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_CN_WARNING, category=UserWarning)
        return x509.Name([
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.COMMON_NAME, cn, _validate=False),
        ])


def subject_value(cert: x509.Certificate, oid) -> str:
    attrs = quiet_subject(cert).get_attributes_for_oid(oid)
    return str(attrs[0].value) if attrs else ""


def _encrypt(key: ec.EllipticCurvePrivateKey, passphrase: bytes) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.BestAvailableEncryption(passphrase))


def _key_usage(**flags) -> x509.KeyUsage:
    names = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
             "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only")
    return x509.KeyUsage(**{n: flags.get(n, False) for n in names})


def _build_cert(*, subject: x509.Name, issuer: x509.Name, public_key, signing_key,
                not_before: datetime, not_after: datetime, ca: bool,
                issuer_public_key) -> x509.Certificate:
    b = (x509.CertificateBuilder()
         .subject_name(subject).issuer_name(issuer).public_key(public_key)
         .serial_number(x509.random_serial_number())
         .not_valid_before(not_before).not_valid_after(not_after)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False))
    if ca:
        b = (b.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
              .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True))
    else:
        b = (b.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .add_extension(_key_usage(digital_signature=True, content_commitment=True),
                             critical=True)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_public_key),
                             critical=False))
    return b.sign(signing_key, hashes.SHA256())


def info_from_cert(cert: x509.Certificate, seal_id: str, status: str,
                   retired_at: datetime | None, rotated_at: datetime | None = None) -> SealInfo:
    return SealInfo(seal_id=seal_id, name=subject_value(cert, NameOID.ORGANIZATION_NAME),
                    key_id=key_id_of(cert.public_key()),
                    not_before=cert.not_valid_before_utc, not_after=cert.not_valid_after_utc,
                    status=status, retired_at=retired_at, rotated_at=rotated_at)


# --------------------------------------------------------------------------- store

# scrypt N=2^15, r=8: 32 MiB and ~100 ms per guess, paid once per process that unlocks keys
KDF_COST = {"n": 2**15, "r": 8, "p": 1}


class IssuerKeys:
    def __init__(self, keys_dir: Path):
        self.dir = Path(keys_dir)
        self._manifest_cache: dict | None = None
        self._cert_cache: dict[str, x509.Certificate] = {}
        self._new_kdf: dict | None = None          # during init, before the manifest exists
        self._stretched: dict[bytes, bytes] = {}

    def _stretch(self, passphrase: bytes) -> bytes:
        """scrypt the passphrase before PKCS#8 sees it: cryptography's PKCS#8 encryption
        uses PBKDF2 with only 2048 iterations, too cheap against offline guessing."""
        params = self._new_kdf or (self._manifest().get("kdf") if self.exists() else None)
        if params is None:  # a keys folder made before the KDF was added
            return passphrase
        if passphrase not in self._stretched:
            derived = hashlib.scrypt(passphrase, salt=bytes.fromhex(params["salt"]), n=params["n"],
                                     r=params["r"], p=params["p"], maxmem=128 * 2**20, dklen=32)
            self._stretched[passphrase] = derived.hex().encode()
        return self._stretched[passphrase]

    # -- manifest ------------------------------------------------------------
    def exists(self) -> bool:
        return (self.dir / MANIFEST).is_file()

    def _manifest(self) -> dict:
        if self._manifest_cache is None:
            path = self.dir / MANIFEST
            if not path.is_file():
                raise KeyProblem(reason="keys_missing", path=str(self.dir))
            try:
                data = json.loads(path.read_text("utf-8"))
                if not isinstance(data["seals"], list) or "key_file" not in data["root"]:
                    raise ValueError("manifest shape")
            except (ValueError, KeyError, TypeError) as exc:
                raise KeyProblem(reason="manifest_corrupt", path=str(path)) from exc
            self._manifest_cache = data
        return self._manifest_cache

    def _write_manifest(self, data: dict) -> None:
        text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
        write_private(self.dir / MANIFEST, text.encode("utf-8"))
        self._manifest_cache = data

    # -- files ----------------------------------------------------------------
    def _cert(self, file_name: str) -> x509.Certificate:
        cert = self._cert_cache.get(file_name)
        if cert is None:
            try:
                cert = x509.load_pem_x509_certificate((self.dir / file_name).read_bytes())
            except (OSError, ValueError) as exc:
                raise KeyProblem(reason="certificate_unreadable", path=str(self.dir / file_name)) from exc
            self._cert_cache[file_name] = cert
        return cert

    def _private_key(self, file_name: str, passphrase: bytes) -> ec.EllipticCurvePrivateKey:
        try:
            data = (self.dir / file_name).read_bytes()
        except OSError as exc:
            raise KeyProblem(reason="key_unreadable", path=str(self.dir / file_name)) from exc
        try:
            key = serialization.load_pem_private_key(data, password=self._stretch(passphrase))
        except (TypeError, ValueError) as exc:   # bad/empty passphrase, or not encrypted
            if data.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----"):
                raise WrongPassphrase() from exc
            raise KeyProblem(reason="key_unreadable_or_unencrypted", path=str(self.dir / file_name)) from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise KeyProblem(reason="unexpected_key_type", path=str(self.dir / file_name))
        return key

    def _write_key_pair(self, prefix: str, key, cert: x509.Certificate,
                        passphrase: bytes) -> tuple[str, str]:
        kid = key_id_of(key.public_key())
        key_file, cert_file = f"{prefix}-{kid}.key.pem", f"{prefix}-{kid}.cert.pem"
        write_private(self.dir / key_file, _encrypt(key, self._stretch(passphrase)))
        write_private(self.dir / cert_file, cert.public_bytes(serialization.Encoding.PEM))
        return key_file, cert_file

    def _root_key(self, passphrase: bytes) -> ec.EllipticCurvePrivateKey:
        return self._private_key(self._manifest()["root"]["key_file"], passphrase)

    # -- public API -------------------------------------------------------------
    def init(self, passphrase: bytes, now: datetime, *,
             root_name: str = "certcli Issuer Root CA") -> SealInfo:
        """Create the root CA (P-256, 20 years) and the ``ministry`` seal."""
        if self.exists():
            raise KeyProblem(reason="keys_exist", path=str(self.dir))
        if not isinstance(passphrase, bytes) or not passphrase:
            raise KeyProblem(reason="empty_passphrase")
        now = _aware(now)
        ensure_private_dir(self.dir)
        os.chmod(self.dir, 0o700)                # also if it existed with a wider mode
        self._new_kdf = {"name": "scrypt", "salt": os.urandom(16).hex(), **KDF_COST}
        root_key = ec.generate_private_key(ec.SECP256R1())
        root_subject = _name(root_name, root_name)
        not_before = now - BACKDATE
        root_cert = _build_cert(subject=root_subject, issuer=root_subject,
                                public_key=root_key.public_key(), signing_key=root_key,
                                not_before=not_before, not_after=_add_years(not_before, ROOT_YEARS),
                                ca=True, issuer_public_key=root_key.public_key())
        key_file, cert_file = self._write_key_pair("root", root_key, root_cert, passphrase)
        manifest = {"version": 1, "seals": [], "kdf": self._new_kdf,
                    "root": {"key_id": key_id_of(root_key.public_key()), "name": root_name,
                             "key_file": key_file, "cert_file": cert_file}}
        try:
            return self._add_seal(manifest, root_key, MINISTRY_SEAL_ID, MINISTRY_SEAL_NAME,
                                  passphrase, now)
        finally:
            self._new_kdf = None

    def _add_seal(self, manifest: dict, root_key, seal_id: str, name: str,
                  passphrase: bytes, now: datetime) -> SealInfo:
        """Make a key + certificate, then publish them by writing the manifest (last)."""
        if not _SEAL_ID_RE.match(seal_id):
            raise BadInput(field="seal_id", value=seal_id, reason="format")
        root_cert = self._cert(manifest["root"]["cert_file"])
        seal_key = ec.generate_private_key(ec.SECP256R1())
        not_before = now - BACKDATE
        not_after = min(_add_years(not_before, SEAL_YEARS), root_cert.not_valid_after_utc)
        if not_after <= now:
            raise KeyProblem(reason="root_expired", path=str(self.dir))
        cert = _build_cert(subject=_name(name, name), issuer=quiet_subject(root_cert),
                           public_key=seal_key.public_key(), signing_key=root_key,
                           not_before=not_before, not_after=not_after, ca=False,
                           issuer_public_key=root_cert.public_key())
        key_file, cert_file = self._write_key_pair(f"seal-{seal_id}", seal_key, cert, passphrase)
        entry = {"seal_id": seal_id, "name": name, "key_id": key_id_of(seal_key.public_key()),
                 "status": "active", "retired_at": None,
                 "key_file": key_file, "cert_file": cert_file}
        manifest["seals"].append(entry)
        self._write_manifest(manifest)
        return self._entry_info(entry)

    def _entry_info(self, entry: dict) -> SealInfo:
        info = info_from_cert(self._cert(entry["cert_file"]), entry["seal_id"], entry["status"],
                              parse_iso_text(entry.get("retired_at")), parse_iso_text(entry.get("rotated_at")))
        return replace(info, name=entry.get("name") or info.name)

    def _active_entry(self, seal_id: str) -> dict:
        for entry in self._manifest()["seals"]:
            # a retired key is never active, whatever else the manifest says
            if entry["seal_id"] == seal_id and entry["status"] == "active" and not entry.get("retired_at"):
                return entry
        raise NotFound(what="seal", value=seal_id)

    def _copy_manifest(self) -> dict:
        return json.loads(json.dumps(self._manifest()))

    def ensure_seal(self, seal_id: str, name: str, passphrase: bytes, now: datetime) -> SealInfo:
        try:
            return self.active_seal(seal_id)
        except NotFound:
            pass
        root_key = self._root_key(passphrase)          # WrongPassphrase before any write
        return self._add_seal(self._copy_manifest(), root_key, seal_id, name, passphrase,
                              _aware(now))

    def rotate_seal(self, seal_id: str, passphrase: bytes, now: datetime) -> SealInfo:
        old = self._active_entry(seal_id)
        root_key = self._root_key(passphrase)
        self._private_key(old["key_file"], passphrase)  # same passphrase for every key
        manifest = self._copy_manifest()
        for e in manifest["seals"]:
            if e["key_id"] == old["key_id"]:
                e["status"] = "rotated"
                e["rotated_at"] = iso_text(_aware(now))
        return self._add_seal(manifest, root_key, seal_id, old["name"], passphrase, _aware(now))

    def retire_seal(self, key_id: str, compromised_at: datetime, passphrase: bytes) -> SealInfo:
        manifest = self._copy_manifest()
        entry = next((e for e in manifest["seals"] if e["key_id"] == key_id), None)
        if entry is None:
            raise NotFound(what="seal_key", value=key_id)
        self._root_key(passphrase)
        entry["status"] = "retired"
        entry["retired_at"] = iso_text(_aware(compromised_at))
        self._write_manifest(manifest)
        return self._entry_info(entry)

    def check_passphrase(self, passphrase: bytes) -> None:
        self._root_key(passphrase)

    def root_sign(self, data: bytes, passphrase: bytes) -> bytes:
        """ECDSA P-256/SHA-256 signature (DER) of ``data`` by the root key: the signed
        manifest of the trust bundle (:mod:`certcli.pki.trust_bundle`)."""
        return self._root_key(passphrase).sign(data, ec.ECDSA(hashes.SHA256()))

    def seals(self) -> list[SealInfo]:
        return [self._entry_info(e) for e in self._manifest()["seals"]]

    def active_seal(self, seal_id: str) -> SealInfo:
        return self._entry_info(self._active_entry(seal_id))

    def load_seal(self, seal_id: str, passphrase: bytes, now: datetime | None = None) -> LoadedSeal:
        """The seal's active key, to sign with.  With ``now``, a key whose certificate may
        not sign then (:func:`certcli.rules.signing_problem`: not yet valid, expired or
        ending within ``rules.SIGNING_MARGIN``) is refused: ``admin process`` rotates
        such a seal before it signs anything (certcli.certificates.seals.renew_for_signing)."""
        entry = self._active_entry(seal_id)
        cert = self._cert(entry["cert_file"])
        if now is not None:
            problem = rules.signing_problem(cert.not_valid_before_utc, cert.not_valid_after_utc, _aware(now))
            if problem is not None:
                raise KeyProblem(reason=f"seal_{problem}", path=str(self.dir / entry["cert_file"]))
        key = self._private_key(entry["key_file"], passphrase)
        if key_id_of(key.public_key()) != key_id_of(cert.public_key()):
            raise KeyProblem(reason="key_certificate_mismatch", path=str(self.dir / entry["key_file"]))
        return LoadedSeal(info=self._entry_info(entry), private_key=key, certificate=cert,
                          chain=[self.root_certificate()])

    def root_certificate(self) -> x509.Certificate:
        return self._cert(self._manifest()["root"]["cert_file"])

    def public_keys(self) -> dict[str, tuple[SealInfo, ec.EllipticCurvePublicKey]]:
        return {e["key_id"]: (self._entry_info(e), self._cert(e["cert_file"]).public_key())
                for e in self._manifest()["seals"]}

    def seal_certificates(self) -> list[tuple[SealInfo, x509.Certificate]]:
        """Every seal certificate (any status) with its manifest entry."""
        return [(self._entry_info(e), self._cert(e["cert_file"])) for e in self._manifest()["seals"]]
