"""Seal keys for signing documents, each loaded (and its passphrase checked) once
per process, with its pyHanko signer: one cache for every kind of document."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from certcli.documents.signing import PdfSealSigner
from certcli.pki.keys import IssuerKeys, LoadedSeal


class SealSigners:
    """``get(seal_id)`` → ``(LoadedSeal, PdfSealSigner)`` for the seal's active key,
    loaded on first use and kept for the life of this object.  With ``now`` (the
    signing time), a key whose certificate may not sign then is refused
    (``key_problem``, see :meth:`certcli.pki.keys.IssuerKeys.load_seal`)."""

    def __init__(self, keys_dir: Path, passphrase: bytes, now: datetime | None = None):
        self.keys = IssuerKeys(Path(keys_dir))
        self.passphrase = passphrase
        self.now = now
        self.loaded: dict[str, tuple[LoadedSeal, PdfSealSigner]] = {}

    def get(self, seal_id: str) -> tuple[LoadedSeal, PdfSealSigner]:
        if seal_id not in self.loaded:
            seal = self.keys.load_seal(seal_id, self.passphrase, self.now)
            self.loaded[seal_id] = (seal, PdfSealSigner(seal))
        return self.loaded[seal_id]
