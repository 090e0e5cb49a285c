"""Make the known-answer set in this folder.  RUN ONCE; the tests only read what it wrote.

    python tests/known_answers/make.py          # refuses to run when manifest.json exists

Documents already handed out cannot be re-issued, so every future certcli must verify these
exactly as recorded.  If tests/test_known_answers.py fails, the code changed its answer: fix the
code (or, for a deliberate and documented change of a verdict, add a new case next to the old
one); never re-run this script to make the test pass.  See README.md here.

What it does, through the real CLI (``python -m certcli``) with the clock fixed by CERTCLI_NOW:

* makes a throw-away issuer home with a DEDICATED TEST KEY set (``admin init``: a root and seal
  keys made for this set only, passphrase below); nothing else is ever signed with them, and the
  home, private keys included, is deleted at the end: only public trust material is kept;
* issues an annotated certificate (30 days), an exempt association certificate, a second exempt
  one that is revoked after signing, and a member certificate (two-stage review, exam photo,
  details confirmed, an annual inspection); ``admin process`` signs the four PDFs at SIGNED_AT;
* exports two signed trust bundles: ``trust-2026.pem`` just after signing (every key active, no
  ledgers) and ``trust-2036.pem`` after the seal certificates ended (their ledgers in
  ``trust-2036.ledgers/``);
* writes ``manifest.json``: the files' SHA-256, each document's QR payload, and for every case
  (a document as PDF or QR, a bundle, an instant) the verdict ``verify --trust`` gives today:
  ``valid``, ``reason``, ``warnings`` (codes), every check (name, ok, reason) and the disclosed
  facts.  Before writing, it checks those verdicts are the ones intended (INTENT below).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
MANIFEST = HERE / "manifest.json"
SIGNED_AT = "2026-03-01T10:00:00+08:00"
PASSPHRASE = "known answers test key - never a real seal"
PASSWORD, MEMBER_PASSWORD = "known-answers-1", "known-answers-2"
HOLDER_ID, MEMBER_ID = "110101199003074477", "11010519491231002X"
APPROVAL = "京注协〔2021〕15号"
ANNOTATED, EXEMPT, REVOKED, MEMBER = "2024CST450100004", "2019TAX310100003", "2018AUC110100005", "2021CPA110000001"
DOCUMENTS = {"annotated": ANNOTATED, "exempt": EXEMPT, "revoked": REVOKED, "member": MEMBER}
BUNDLES = {"trust-2026.pem": "2026-03-01T11:00:00+08:00", "trust-2036.pem": "2036-06-01T10:00:00+08:00"}
# (case name suffix, bundle, instant): inside the 30-day window, after it, +11 and +21 years
INSTANTS = [("in_window", "trust-2026.pem", "2026-03-02T10:00:00+08:00"),
            ("after_window", "trust-2026.pem", "2026-04-15T10:00:00+08:00"),
            ("plus_11y", "trust-2036.pem", "2037-03-01T10:00:00+08:00"),
            ("plus_11y_old_bundle", "trust-2026.pem", "2037-03-01T10:00:00+08:00"),
            ("plus_21y", "trust-2036.pem", "2047-03-01T10:00:00+08:00")]
# the verdict each case must have: (document, instant suffix) -> reason ("ok" = valid)
INTENT = {("annotated", "in_window"): "ok", ("annotated", "after_window"): "annotation_expired",
          ("annotated", "plus_11y"): "annotation_expired", ("annotated", "plus_11y_old_bundle"): "seal_expired",
          ("annotated", "plus_21y"): "annotation_expired",
          **{(name, when): "ok" for name in ("exempt", "member")
             for when in ("in_window", "after_window", "plus_11y", "plus_21y")},
          ("exempt", "plus_11y_old_bundle"): "seal_expired", ("member", "plus_11y_old_bundle"): "seal_expired",
          **{("revoked", when): "certificate_revoked"
             for when in ("in_window", "after_window", "plus_11y", "plus_21y")},
          ("revoked", "plus_11y_old_bundle"): "seal_expired"}


# --------------------------------------------------------------------------- the verdict, as recorded

def _plain(value):
    if isinstance(value, datetime):
        from certcli import rules

        return value.astimezone(rules.CST).isoformat()
    return value


def outcome(document: dict) -> dict:
    """The recorded part of a ``verify --json`` document (or of ``Verdict.to_json()``):
    the verdict, its reason, the warning codes, every check's stable codes and the facts.
    Sentences and details are words for people, free to improve; these are the contract."""
    return {"valid": document["valid"], "reason": document["reason"],
            "warnings": [warning["code"] for warning in document.get("warnings") or ()],
            "checks": [[c["name"], c["ok"], c["reason"]] for c in document["checks"]],
            "facts": {key: _plain(value) for key, value in document["facts"].items()}}


def verify_case(case: dict, folder: Path = HERE) -> dict:
    """Verify one case in-process, offline (no store): what ``verify --trust`` does."""
    from certcli.verification.checks import Context, verify_pdf_file, verify_qr

    with tempfile.TemporaryDirectory() as empty:
        context = Context.load(Path(empty), folder / case["bundle"])
        try:
            now = datetime.fromisoformat(case["now"])
            if case["form"] == "pdf":
                verdict = verify_pdf_file(folder / case["file"], context, now)
            else:
                verdict = verify_qr(case["payload"], context, now)
        finally:
            context.close()
    return outcome(verdict.to_json("en"))


# --------------------------------------------------------------------------- making the documents

class Issuer:
    def __init__(self, home: Path):
        self.home = home
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CERTCLI_")}
        self.env.update({"CERTCLI_HOME": str(home), "CERTCLI_KEY_PASSPHRASE": PASSPHRASE,
                         "CERTCLI_PASSWORD": PASSWORD, "PYTHONPATH": str(ROOT)})

    def __call__(self, *args, now: str = SIGNED_AT, expect: int = 0, **env) -> dict | None:
        result = subprocess.run([sys.executable, "-m", "certcli", "--json", "--lang", "en", *map(str, args)],
                                env={**self.env, "CERTCLI_NOW": now, **env}, capture_output=True, text=True,
                                cwd=self.home.parent, timeout=300)
        if result.returncode != expect:
            raise SystemExit(f"certcli {' '.join(map(str, args))}: exit {result.returncode}\n{result.stdout}"
                             f"{result.stderr}")
        return json.loads(result.stdout) if result.stdout.strip() else None


def _jpeg() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (300, 400), (200, 180, 160)).save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def _csv(path: Path, rows: list[dict]) -> Path:
    import csv

    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _row(no, qualification, level, issued_on, seal="ministry", issuer="人力资源和社会保障部"):
    return {"certificate_no": no, "name": "王小明", "id_type": "resident_id", "id_number": HOLDER_ID,
            "qualification": qualification, "level": level, "issued_on": issued_on, "issuer": issuer, "seal": seal}


def make_documents(work: Path) -> None:
    """The four PDFs and the two bundles (with ledgers) into this folder; ``work`` holds the home."""
    run = Issuer(work / "home")
    run("admin", "init")
    run("admin", "issue", _csv(work / "roster.csv", [
        _row(ANNOTATED, "造价工程师", "一级", "2024-02-01"),
        _row(EXEMPT, "税务师", "", "2019-06-20", "association", "中国注册税务师协会"),
        _row(REVOKED, "拍卖师", "", "2018-05-10", "association", "中国拍卖行业协会")]))
    (work / "exam.jpg").write_bytes(_jpeg())
    run("admin", "issue", _csv(work / "members.csv", [{
        "certificate_no": MEMBER, "name": "赵六", "id_type": "resident_id", "id_number": MEMBER_ID,
        "qualification": "注册会计师非执业会员", "level": "", "issued_on": "2021-03-15", "issuer": "中国注册会计师协会",
        "seal": "association", "region": "北京", "approval_no": APPROVAL, "photo": "exam.jpg", "kind": "membership",
        "birth_date": "", "mobile": "13800138000", "email": "", "exam_pass_year": "2015"}]))
    # the holder: an annotation (30 days) and two exempt copies
    run("register", "--name", "王小明", "--id-number", HOLDER_ID)
    run("login", "--id-number", HOLDER_ID)
    run("agree", "--yes")
    run("annotate", ANNOTATED, "--days", "30")
    for number in (EXEMPT, REVOKED):
        run("download", number, "-o", work / "queued.pdf", expect=4)          # queues the exempt copy
    # the member: two reviews, the initial password, photo, details, an inspection
    for stage in ("local", "national"):
        run("admin", "member", "review", MEMBER, "--stage", stage, "--approve")
    run("member", "status", "--id-number", MEMBER_ID, "--name", "赵六", "--approval-no", APPROVAL,
        "--password-file", work / "initial.txt")
    initial = (work / "initial.txt").read_text().strip()
    run("login", "--cert-number", MEMBER, CERTCLI_PASSWORD=initial, CERTCLI_NEW_PASSWORD=MEMBER_PASSWORD)
    member = {"CERTCLI_PASSWORD": MEMBER_PASSWORD}
    run("member", "photo", "--use", "exam", **member)
    run("member", "confirm", "--email", "zhao@example.cn", "--yes", **member)
    run("admin", "member", "inspect", MEMBER, "--year", "2025", "--passed")
    run("member", "download", "-o", work / "queued.pdf", expect=4, **member)
    processed = run("admin", "process")
    assert processed["completed"] == 4 and processed["failed"] == 0, processed
    run("member", "download", "-o", HERE / "member.pdf", **member)
    run("login", "--id-number", HOLDER_ID)
    for name in ("annotated", "exempt", "revoked"):
        run("download", DOCUMENTS[name], "-o", HERE / f"{name}.pdf")
    run("admin", "revoke", REVOKED, "--reason", "known answer: revoked after signing")
    for name, instant in BUNDLES.items():
        run("admin", "trust", "-o", HERE / name, "--valid-days", "366", now=instant)


def payload_of(pdf: Path) -> str:
    from pypdf import PdfReader

    return str(PdfReader(pdf).metadata["/CertcliQR"])


def main() -> None:
    sys.path.insert(0, str(ROOT))
    if MANIFEST.exists():
        raise SystemExit(f"{MANIFEST.name} exists: the known answers are frozen; never re-make them (README.md).")
    for stale in [*HERE.glob("*.pdf"), *HERE.glob("*.pem"), *HERE.glob("*.ledgers")]:   # an interrupted first run
        shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
    with tempfile.TemporaryDirectory() as work:
        make_documents(Path(work))
    files = sorted(p for p in HERE.rglob("*") if p.is_file() and p.suffix in (".pdf", ".pem", ".bin"))
    cases = []
    for name in DOCUMENTS:
        payload = payload_of(HERE / f"{name}.pdf")
        for when, bundle, now in INSTANTS:
            for form in ("pdf", "qr"):
                case = {"name": f"{name}_{form}_{when}", "document": name, "form": form, "bundle": bundle, "now": now,
                        **({"file": f"{name}.pdf"} if form == "pdf" else {"payload": payload})}
                case["expected"] = verify_case(case)
                intended = INTENT[(name, when)]
                assert case["expected"]["reason"] == intended and case["expected"]["valid"] == (intended == "ok"), \
                    (case["name"], case["expected"])
                cases.append(case)
    import certcli

    manifest = {"about": "Genuine documents signed once with a dedicated test key, frozen: every certcli must give "
                         "these verdicts (tests/test_known_answers.py). Never re-made: see README.md.", "format": 1,
                "made_by": f"certcli {getattr(certcli, '__version__', '?')}", "signed_at": SIGNED_AT,
                "bundles": BUNDLES, "documents": {name: {"certificate_no": number, "file": f"{name}.pdf",
                                                         "qr_payload": payload_of(HERE / f"{name}.pdf")}
                                                  for name, number in DOCUMENTS.items()},
                "files": {str(p.relative_to(HERE)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files},
                "cases": cases}
    MANIFEST.write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    total = sum(p.stat().st_size for p in HERE.rglob("*") if p.is_file())
    print(f"wrote {len(files)} files and {len(cases)} cases ({total // 1024} KiB in {HERE.name}/)")


if __name__ == "__main__":
    main()
