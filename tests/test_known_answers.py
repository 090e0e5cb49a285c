"""Known answers (issue 16, item 3): genuine documents signed once with a dedicated test key and
frozen in tests/known_answers/ (made by make.py there, ONCE), with the trust bundles that verify
them offline.  Certificates already handed out cannot be re-issued, so every version of certcli
must still give exactly the recorded verdict, check codes and disclosed facts at each recorded
instant.  A failure here means the code changed an answer: fix the code, never the files
(tests/known_answers/README.md)."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

HERE = Path(__file__).resolve().parent / "known_answers"


def _generator():
    """tests/known_answers/make.py, for its verdict helpers (it is never run here)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("known_answers_make", HERE / "make.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_MAKE = _generator()
outcome, verify_case = _MAKE.outcome, _MAKE.verify_case

MANIFEST = json.loads((HERE / "manifest.json").read_text(encoding="utf-8"))
CASES = MANIFEST["cases"]
# verified through the real command line too, one process each (the rest in-process)
BY_CLI = ("annotated_pdf_in_window", "member_qr_plus_11y", "exempt_pdf_plus_21y", "revoked_qr_after_window")


def test_the_frozen_files_are_the_ones_recorded_and_small():
    recorded = MANIFEST["files"]
    present = {str(p.relative_to(HERE)): hashlib.sha256(p.read_bytes()).hexdigest()
               for p in HERE.rglob("*") if p.is_file() and p.suffix in (".pdf", ".pem", ".bin")}
    assert present == recorded
    assert sum(p.stat().st_size for p in HERE.rglob("*") if p.is_file()) < 1_000_000


def test_the_cases_cover_what_they_must():
    names = {case["name"] for case in CASES}
    for document in ("annotated", "exempt", "member", "revoked"):
        for form in ("pdf", "qr"):
            for when in ("in_window", "after_window", "plus_11y", "plus_11y_old_bundle", "plus_21y"):
                assert f"{document}_{form}_{when}" in names
    reasons = {case["expected"]["reason"] for case in CASES}
    assert {"ok", "annotation_expired", "certificate_revoked", "seal_expired"} <= reasons
    assert set(BY_CLI) <= names


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_every_frozen_document_gets_its_recorded_answer(case):
    assert case.get("payload") is None or case["payload"] == MANIFEST["documents"][case["document"]]["qr_payload"]
    assert verify_case(case) == case["expected"]


@pytest.mark.parametrize("name", BY_CLI)
def test_the_command_line_gives_the_recorded_answer(name, tmp_path):
    case = next(case for case in CASES if case["name"] == name)
    target = [str(HERE / case["file"])] if case["form"] == "pdf" else ["--qr", case["payload"]]
    env = {key: value for key, value in os.environ.items() if not key.startswith("CERTCLI_")}
    env.update({"CERTCLI_HOME": str(tmp_path / "empty"), "CERTCLI_NOW": case["now"],
                "PYTHONPATH": str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")})
    result = subprocess.run([sys.executable, "-m", "certcli", "verify", *target, "--trust", str(HERE / case["bundle"]),
                             "--json"], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == (0 if case["expected"]["valid"] else 1), result.stdout + result.stderr
    document = json.loads(result.stdout)
    assert document["clock_overridden"] is True and document["checked_at"] == case["now"]
    assert outcome(document) == case["expected"]
