"""Ledgers of closed seal keys and the revocation list (issue 12): size and time.

    python -m bench.ledger_bench                 # 1,000,000 documents signed by one key
    python -m bench.ledger_bench --documents 100000

Builds a store whose issued-document registry holds N documents (a PDF and its QR
payload each: 2N rows) for one key, plus 10 % as many for another key, then measures:

* closing the key's ledger (what ``admin rotate-seal`` / ``retire-seal`` and
  ``admin trust`` run): one walk of ``idx_issued_documents_key``, no PDF parsed;
* the ledger file's size (16 bytes per entry);
* checking one document against it offline as a fresh ``verify`` does (read the
  file, check its SHA-256 against the bundle, binary search), and the search alone;
* the trust bundle's size with 10,000 and 95,000 revoked certificates.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CST = timezone(timedelta(hours=8))


def _fill(store, key_id: str, documents: int, start: datetime) -> None:
    rows = []
    with store.transaction() as conn:
        for i in range(documents):
            signed_at = (start + timedelta(seconds=i)).isoformat(timespec="seconds")
            for form in ("pdf", "qr"):
                digest = hashlib.sha256(f"{key_id}/{form}/{i}".encode()).hexdigest()
                rows.append((digest, form, f"AN{i:09d}", f"2024CST{i:09d}", "王小明", "造价工程师", "ministry", key_id,
                             signed_at, None))
            if len(rows) >= 20_000:
                conn.executemany("INSERT INTO issued_documents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
                rows = []
        conn.executemany("INSERT INTO issued_documents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)

    from certcli.certificates import registry
    from certcli.pki.ledgers import LedgerRef, ledger_entry, load_ledger, sorted_contains
    from certcli.store import Store

    folder = Path(tempfile.mkdtemp(prefix="certcli-ledger-bench-"))
    store = Store(folder / "certcli.db", create=True)
    key, other = "a1b2c3d4e5f60718", "0f0e0d0c0b0a0908"
    start = datetime(2026, 1, 1, tzinfo=CST)
    began = time.perf_counter()
    _fill(store, key, args.documents, start)
    _fill(store, other, args.documents // 10, start)
    print(f"registry filled: {2 * args.documents + 2 * (args.documents // 10):,} rows in "
          f"{time.perf_counter() - began:.1f} s", file=sys.stderr)

    closes = []
    for _ in range(3):
        began = time.perf_counter()
        ledger = registry.ledger(store, key)
        closes.append(time.perf_counter() - began)
    began = time.perf_counter()
    half = registry.ledger(store, key, before=start + timedelta(seconds=args.documents // 2))
    retired_close = time.perf_counter() - began
    path = folder / f"{key}.bin"
    path.write_bytes(ledger.entries)
    reference = LedgerRef(key, ledger.count, ledger.sha256)
    probe = ledger_entry(hashlib.sha256(f"{key}/pdf/{args.documents // 3}".encode()).hexdigest())

    checks = []
    for _ in range(args.runs):
        began = time.perf_counter()
        table = load_ledger(reference, folder)             # a fresh verify: read, hash, then search
        assert sorted_contains(table, probe, 16)
        checks.append(time.perf_counter() - began)
    table = load_ledger(reference, folder)
    began = time.perf_counter()
    for _ in range(10_000):
        sorted_contains(table, probe, 16)
    search_us = (time.perf_counter() - began) / 10_000 * 1e6

    print(f"documents per key            {args.documents:>14,}")
    print(f"ledger entries (PDF + QR)    {ledger.count:>14,}")
    print(f"ledger file                  {os.path.getsize(path) / 2**20:>11.1f} MiB")
    print(f"close ledger (rotate-seal)   {statistics.median(closes):>12.2f} s")
    print(f"close ledger, retired (1/2)  {retired_close:>12.2f} s   ({half.count:,} entries)")
    print(f"check one document, fresh    {statistics.median(checks) * 1000:>11.1f} ms  (read + SHA-256 + search)")
    print(f"binary search alone          {search_us:>11.1f} µs")

    from certcli.pki.keys import IssuerKeys
    from certcli.pki.trust_bundle import SealEntry, build_bundle, revocation_entry

    keys = IssuerKeys(folder / "keys")
    keys.init(b"bench", datetime.now(timezone.utc))
    now = datetime.now(timezone.utc)
    seals = [SealEntry(info, cert, ("CST",)) for info, cert in keys.seal_certificates()]
    for revoked in (0, 10_000, 95_000):
        entries = [revocation_entry("a" * 16, f"2024CST{i:09d}") for i in range(revoked)]
        text = build_bundle(keys.root_certificate(), seals, revoked=entries, issued_at=now,
                            next_update=now + timedelta(days=7), sign=lambda data: keys.root_sign(data, b"bench"))
        print(f"bundle with {revoked:>6,} revoked     {len(text.encode()) / 1024:>10.0f} KiB")
    store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
