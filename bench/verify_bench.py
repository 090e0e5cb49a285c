"""6. download and verify: whole commands cold, and the verification library in-process,
each beside pyHanko's own validator."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

from bench.cli_home import CliHome
from bench.common import NOW, Figure, commands_ms, interleaved_ms, log, median_ms, run_child

DOWNLOAD_TARGET_MS = 300.0
RATIO_TARGET = 1.2
QR_TARGET_MS = 5.0
QR_DECODE_TARGET_MS = 5.0   # was tests/test_qrpayload.py::test_decode_is_fast


def qr_payload_of(data: bytes) -> str:
    from io import BytesIO

    from pypdf import PdfReader

    return str(PdfReader(BytesIO(data)).metadata["/CertcliQR"])


def verify_child(home: str, pdf: str, runs: int, qr_runs: int) -> dict:
    from certcli.documents import qrpayload
    from certcli.documents.signing import validate_with_pyhanko
    from certcli.verification import checks as verification

    data = Path(pdf).read_bytes()
    context = verification.Context.load(Path(home), None)
    payload = qr_payload_of(data)
    verdict = verification.verify_pdf(data, context, NOW)
    stock = validate_with_pyhanko(data, context.root, NOW)
    qr = verification.verify_qr(payload, context, NOW)
    times = interleaved_ms({"verify_pdf": lambda: verification.verify_pdf(data, context, NOW),
                            "pyhanko": lambda: validate_with_pyhanko(data, context.root, NOW)}, runs)
    return {
        "verify_valid": verdict.valid, "pyhanko_ok": bool(stock["bottom_line"]), "qr_valid": qr.valid,
        "failed_checks": [c.name for c in verdict.checks + qr.checks if c.ok is False],
        "verify_pdf_ms": times["verify_pdf"], "pyhanko_ms": times["pyhanko"],
        "verify_qr_ms": median_ms(lambda: verification.verify_qr(payload, context, NOW), qr_runs),
        "qr_decode_ms": median_ms(lambda: qrpayload.decode(payload, context.seal_keys), qr_runs),
    }


def _cold(cli: CliHome, runs: int) -> dict:
    py = sys.executable
    out = cli.workdir / "download.pdf"
    commands = {
        "download": [py, "-m", "certcli", "download", cli.certificate_no, "-o", str(out)],
        "verify": [py, "-m", "certcli", "verify", str(cli.pdf)],
    }
    pyhanko = shutil.which("pyhanko")
    if pyhanko:
        commands["pyhanko"] = [pyhanko, "sign", "validate", "--trust", str(cli.root_pem), str(cli.pdf)]
    log(f"download/verify: {', '.join(commands)} cold, in turns, median of {runs}")
    times = commands_ms(commands, cli.env, runs, cwd=cli.workdir)
    times.setdefault("pyhanko", None)
    return times


def run(cli: CliHome, runs: int, lib_runs: int) -> list[Figure]:
    section = "6 download/verify"
    cold = _cold(cli, runs)
    figures = [Figure(section, "certcli download cold", cold["download"], "ms", f"< {DOWNLOAD_TARGET_MS:g} ms",
                      cold["download"] < DOWNLOAD_TARGET_MS),
               Figure(section, "certcli verify PDF cold", cold["verify"], "ms")]
    if cold["pyhanko"] is not None:
        ratio = cold["verify"] / cold["pyhanko"]
        figures += [Figure(section, "pyhanko sign validate --trust ROOT cold", cold["pyhanko"], "ms"),
                    Figure(section, "  verify cold / pyhanko cold", ratio, "x", f"<= {RATIO_TARGET:g}x",
                           ratio <= RATIO_TARGET)]
    else:
        figures.append(Figure(section, "pyhanko sign validate --trust ROOT cold", None, "ms",
                              note="pyhanko CLI not installed (pip install pyhanko-cli)"))
    log(f"download/verify: verify_pdf / validate_with_pyhanko / verify_qr in-process, median of {lib_runs}")
    r = run_child("bench.verify_bench:verify_child", home=str(cli.home), pdf=str(cli.pdf), runs=lib_runs,
                  qr_runs=lib_runs * 4)
    valid_note = "" if r["verify_valid"] and r["qr_valid"] else f"NOT VALID: {r['failed_checks']}"
    ratio = r["verify_pdf_ms"] / r["pyhanko_ms"]
    figures += [
        Figure(section, "verify_pdf (in-process)", r["verify_pdf_ms"], "ms", note=valid_note),
        Figure(section, "validate_with_pyhanko (in-process)", r["pyhanko_ms"], "ms",
               note="" if r["pyhanko_ok"] else "pyHanko bottom line: not valid"),
        Figure(section, "  verify_pdf / validate_with_pyhanko", ratio, "x", f"<= {RATIO_TARGET:g}x",
               ratio <= RATIO_TARGET),
        Figure(section, "verify_qr (in-process)", r["verify_qr_ms"], "ms", f"< {QR_TARGET_MS:g} ms",
               r["verify_qr_ms"] < QR_TARGET_MS),
        Figure(section, "  of which qrpayload.decode", r["qr_decode_ms"], "ms", f"< {QR_DECODE_TARGET_MS:g} ms",
               r["qr_decode_ms"] < QR_DECODE_TARGET_MS),
    ]
    return figures
