"""3. list/info with 1M certificates stored: library calls in-process, and the CLI cold.

Reuses the store of the largest import.  A holder from the middle of that
roster registers, accepts the terms and applies for one annotation, so
``describe`` has history to read.
"""
from __future__ import annotations

import sys
from pathlib import Path

from bench.common import (NOW, NOW_ISO, PASSPHRASE, PASSWORD, Figure, base_env, commands_ms, interleaved_ms, log,
                          run_child)
from bench.rosters import certificate_numbers, holder_of_rows, person

TARGET_MS = 50.0


def query_child(home: str, holder: int, runs: int) -> dict:
    """Child: register the holder, then time the list and info library paths."""
    from certcli import accounts
    from certcli.certificates import holder as holder_ops
    from certcli.store import open_store

    name, id_number = person(holder)
    numbers = certificate_numbers(holder)
    store = open_store(Path(home))
    account = accounts.register(store, id_type="resident_id", id_number=id_number, name=name,
                                password=PASSWORD, now=NOW)
    accounts.accept_terms(store, account, NOW)
    holder_ops.apply_annotation(store, account, numbers[0], scenario="self-use", days=90, now=NOW)
    accounts.login(store, Path(home), id_number=id_number, password=PASSWORD, now=NOW)  # session for the CLI

    def list_path():
        return [holder_ops.describe(store, c, NOW) for c in holder_ops.holder_certificates(store, account)]

    def info_path():
        return holder_ops.describe(store, holder_ops.own_certificate(store, account, numbers[0]), NOW)

    times = interleaved_ms({"holder_certificates": lambda: holder_ops.holder_certificates(store, account),
                            "list": list_path, "info": info_path}, runs)
    result = {
        "certificates_found": len(list_path()),
        "total_certificates": store.conn.execute("SELECT count(*) FROM certificates").fetchone()[0],
        **{f"{name}_ms": ms for name, ms in times.items()},
    }
    store.close()
    return result


def run(home: Path, rows: int, runs: int, cli_runs: int, pycache: Path) -> list[Figure]:
    holder = holder_of_rows(rows)
    log(f"query: list/info library calls on {home.name}, median of {runs}")
    result = run_child("bench.query_bench:query_child", home=str(home), holder=holder, runs=runs)
    if result["certificates_found"] != len(certificate_numbers(holder)):
        raise RuntimeError(f"holder sees {result['certificates_found']} certificates")
    section = "3 query"
    scale = f"{result['total_certificates'] / 1e6:g}M" if result["total_certificates"] >= 1e6 \
        else f"{result['total_certificates'] // 1000}k"
    figures = [
        Figure(section, f"holder_certificates ({scale} stored)", result["holder_certificates_ms"], "ms",
               f"< {TARGET_MS:g} ms", result["holder_certificates_ms"] < TARGET_MS),
        Figure(section, f"list = holder_certificates + describe ({scale})", result["list_ms"], "ms",
               f"< {TARGET_MS:g} ms", result["list_ms"] < TARGET_MS,
               note=f"{result['certificates_found']} certificates"),
        Figure(section, f"info = own_certificate + describe ({scale})", result["info_ms"], "ms",
               f"< {TARGET_MS:g} ms", result["info_ms"] < TARGET_MS),
    ]
    env = base_env(pycache, CERTCLI_HOME=str(home), CERTCLI_NOW=NOW_ISO, CERTCLI_KEY_PASSPHRASE=PASSPHRASE,
                   CERTCLI_PASSWORD=PASSWORD)
    number = certificate_numbers(holder)[0]
    log(f"query: certcli list and info cold on {home.name}, median of {cli_runs}")
    cold = commands_ms({"list": [sys.executable, "-m", "certcli", "list"],
                        "info": [sys.executable, "-m", "certcli", "info", number]}, env, cli_runs)
    figures += [Figure(section, f"certcli {label} cold ({scale} stored)", ms, "ms", note="whole process")
                for label, ms in cold.items()]
    return figures
