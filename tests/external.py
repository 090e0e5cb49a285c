"""Helpers that run external validators (tools we did not write) on our output.

Each helper first calls :func:`conftest.need_tool`, so a missing tool skips the
test locally and fails it under CI=true.
"""
from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from conftest import need_tool


def _run(args: list[str], timeout: float = 60, env: dict | None = None
         ) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, timeout=timeout, check=False,
                          env=None if env is None else {**os.environ, **env})


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def pdfsig_report(pdf_path, root_cert_pem_path, tmp_path) -> str:
    """poppler's pdfsig with a fresh NSS database that trusts only ``root_cert_pem_path``.

    pdfsig exits 0 even for bad signatures, so callers read the text, e.g.
    "Signature is Valid.", "Certificate is Trusted.", "Total document signed",
    "Digest Mismatch.", "Signing Time: Mar 01 2026 02:00:00" (always UTC).
    """
    pdfsig = need_tool("pdfsig")
    certutil = need_tool("certutil")
    db = Path(tempfile.mkdtemp(prefix="nssdb-", dir=tmp_path))
    for args in ([certutil, "-N", "--empty-password", "-d", f"sql:{db}"],
                 [certutil, "-A", "-d", f"sql:{db}", "-n", "certcli-test-root", "-t", "CT,C,C",
                  "-i", str(root_cert_pem_path)]):
        done = _run(args)
        assert done.returncode == 0, f"{args[1]} failed: {_text(done.stderr)}"
    # TZ=UTC: pdfsig prints "Signing Time" in the local zone; make it deterministic.
    done = _run([pdfsig, "-nssdir", f"sql:{db}", str(pdf_path)], env={"TZ": "UTC"})
    return _text(done.stdout) + _text(done.stderr)


def pyhanko_validate(pdf_path, root_pem_path, *, pretty: bool = True) -> tuple[int, str]:
    """``pyhanko sign validate --trust ROOT --trust-replace [--pretty-print] FILE``.

    ``--trust-replace`` makes ROOT the only trust anchor (no OS trust store).
    Without ``--pretty-print`` the CLI prints one line per signature:
    ``FIELD:SHA256:INTACT:TRUSTED,UNTOUCHED`` (or ``...:INVALID``); with it, a
    report ending in "The signature is judged VALID." / "INVALID.".
    Exit code 0 means every signature validated.
    """
    pyhanko = need_tool("pyhanko")
    args = [pyhanko, "sign", "validate", "--trust", str(root_pem_path), "--trust-replace"]
    if pretty:
        args.append("--pretty-print")
    done = _run(args + [str(pdf_path)])
    return done.returncode, _text(done.stdout)


def qpdf_check(path) -> tuple[int, str]:
    """``qpdf --check``: exit 0 clean, 2 errors, 3 warnings."""
    qpdf = need_tool("qpdf")
    done = _run([qpdf, "--check", str(path)])
    return done.returncode, _text(done.stdout) + _text(done.stderr)


def scan_qr(pdf, folder, dpi: int = 150, *, page: int = 1) -> str:
    """The text of a page's QR code as a phone reads it: poppler renders the page, zbarimg decodes.

    Only the QR decoder is enabled: with every symbology on, zbarimg now and then also "reads"
    a 1-D barcode out of the page's printed digits (a CI run got an extra line "699923").
    """
    png = Path(folder) / f"{Path(pdf).stem}-{dpi}-p{page}"
    done = _run([need_tool("pdftoppm"), "-r", str(dpi), "-png", "-f", str(page), "-l", str(page),
                 "-singlefile", str(pdf), str(png)])
    assert done.returncode == 0, _text(done.stderr)
    done = _run([need_tool("zbarimg"), "--raw", "-q", "-Sdisable", "-Sqrcode.enable", f"{png}.png"])
    return _text(done.stdout).rstrip("\n")
