"""Ledgers: what keeps the documents a closed key signed valid after it ends (the chain model).

A ledger sits beside the trust bundle (:mod:`certcli.pki.trust_bundle`), as
``<bundle stem>.ledgers/<key_id>.bin``: for a closed key, the sorted first 16 bytes of
the SHA-256 of every document it legitimately signed while its certificate was in force
(each PDF's /ByteRange digest and each QR payload's signed-bytes digest, from the
issuer's registry; for a retired key only those signed before its compromise).
The bundle's manifest commits to each file's SHA-256 and count, so a ledger cannot be
edited either; a verifier hashes the file once and looks a document up by binary search.
16 bytes: finding a new document whose digest prefix hits one of 2M entries costs
2^107 hashes.  Measured (``python -m bench.ledger_bench``, 2 cores): a key that signed
1M documents (a PDF and a QR payload each: 2M entries) has a 30.5 MiB ledger; closing
it (``rotate-seal``: one walk of the registry index) takes 2.2 s; checking one document
against it in a fresh ``verify`` takes 22 ms (reading + hashing the file; the binary
search itself is 6 µs).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

LEDGER_ENTRY_BYTES = 16
LEDGER_SUFFIX = ".ledgers"


@dataclass(frozen=True)
class LedgerRef:
    """A closed key's ledger as the manifest commits to it."""

    key_id: str
    count: int
    sha256: str

    @property
    def file_name(self) -> str:
        return ledger_file_name(self.key_id)


def ledger_entry(digest_hex: str) -> bytes:
    """A registry digest (hex SHA-256) as a ledger entry: its first 16 bytes."""
    return bytes.fromhex(digest_hex[:2 * LEDGER_ENTRY_BYTES])


def ledger_file_name(key_id: str) -> str:
    return f"{key_id}.bin"


def ledger_dir_beside(bundle_path: Path) -> Path:
    """``DIR/trust.pem`` → ``DIR/trust.ledgers``: where ``admin trust -o`` writes the ledgers
    and ``verify --trust`` looks for them."""
    bundle_path = Path(bundle_path)
    return bundle_path.with_name(bundle_path.stem + LEDGER_SUFFIX)


def sorted_contains(table: bytes | memoryview, entry: bytes, width: int) -> bool:
    """Binary search of ``entry`` in ``table``, sorted fixed-width records."""
    low, high = 0, len(table) // width
    view = memoryview(table)
    while low < high:
        middle = (low + high) // 2
        probe = bytes(view[middle * width:(middle + 1) * width])
        if probe < entry:
            low = middle + 1
        elif probe > entry:
            high = middle
        else:
            return True
    return False


class LedgerUnavailable(Exception):
    """A closed key's ledger file cannot be used: ``reason`` is ``ledger_missing`` or
    ``ledger_mismatch`` (not what the bundle committed to); ``path`` names the file."""

    def __init__(self, reason: str, path: str):
        super().__init__(reason)
        self.reason, self.path = reason, path


def load_ledger(ref: LedgerRef, directory: Path | None) -> bytes:
    """The ledger file of ``ref``, checked against the bundle's commitment."""
    if ref.count == 0:
        return b""
    if directory is None:
        raise LedgerUnavailable("ledger_missing", ref.file_name)
    path = Path(directory) / ref.file_name
    import os
    import stat

    expected = ref.count * LEDGER_ENTRY_BYTES
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise LedgerUnavailable("ledger_missing", str(path))
        with open(path, "rb") as handle:
            data = handle.read(expected + 1)
    except OSError:
        raise LedgerUnavailable("ledger_missing", str(path)) from None
    if len(data) != expected or hashlib.sha256(data).hexdigest() != ref.sha256:
        raise LedgerUnavailable("ledger_mismatch", str(path))
    return data
