"""The demo: every step a real user takes, run as real certcli commands in a
throwaway home, each shown before it runs.  It doubles as an end-to-end check."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from importlib.resources import files
from pathlib import Path
from typing import Callable

from certcli import i18n

HOLDER = {"name": "王小明", "id_number": "110101199003074477", "password": "demo-password-123"}
CERTIFICATE_NO = "2022ECO110100001"
EXEMPT_NO = "2019TAX310100003"


class DemoFailed(Exception):
    pass


def run_demo(folder: Path | None, *, lang: str = "en", say: Callable | None = None) -> dict:
    """Run the flow in ``folder`` (kept; it must be new or empty) or in a temporary folder
    removed at the end.  The narration names files as the commands see them: absolute
    paths in a kept folder, bare names in a temporary one, so that no path it shows is
    gone when the demo ends.  The result says what was made and where it is, if kept."""
    kept = folder is not None
    workdir = Path(folder).expanduser().resolve() if kept else Path(tempfile.mkdtemp(prefix="certcli-demo-"))
    if kept:
        _check_empty(workdir, lang)
    workdir.mkdir(parents=True, exist_ok=True)
    home = workdir / "home"

    def shown(path: Path) -> str:
        return str(path) if kept else str(path.relative_to(workdir))

    env = dict(os.environ, CERTCLI_HOME=shown(home), CERTCLI_KEY_PASSPHRASE=DEMO_PASSPHRASE,
               CERTCLI_PASSWORD=HOLDER["password"], CERTCLI_LANG=lang)
    env.pop("CERTCLI_SERVER", None)  # the demo is the embedded default: one home, no server
    # the child processes import the same certcli as this one, installed or not
    package_parent = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_parent, os.environ.get("PYTHONPATH")]))
    roster = workdir / "roster.csv"
    roster.write_bytes(files("certcli.data").joinpath("demo_roster.csv").read_bytes())
    pdf = workdir / f"{CERTIFICATE_NO}.pdf"
    bundle = workdir / "trust.pem"
    log: list[dict] = []

    def step(key: str, *args: str, expect: tuple[int, ...] = (0,)) -> dict:
        shown_command = "certcli " + " ".join(args)
        if say:
            say(f"\n[bold cyan]▶ {i18n.t('demo.' + key, lang)}[/]\n[dim]$ {escape(shown_command)}[/]")
        proc = subprocess.run([sys.executable, "-m", "certcli", *args], env=env, capture_output=True,
                              text=True, cwd=workdir)
        if say:
            out = (proc.stdout + proc.stderr).rstrip()
            say(out, markup=False) if out else None
        log.append({"step": key, "command": shown_command, "exit_code": proc.returncode})
        if proc.returncode not in expect:
            raise DemoFailed(f"{shown_command} exited {proc.returncode}: {proc.stderr.strip()[-300:]}")
        return proc

    if say:
        say(i18n.t("demo.intro_kept", lang, folder=str(workdir)) if kept else i18n.t("demo.intro_temporary", lang),
            markup=False)
    verified = False
    try:
        step("init", "admin", "init")
        step("issue", "admin", "issue", shown(roster), expect=(6,))
        step("register", "register", "--name", HOLDER["name"], "--id-number", HOLDER["id_number"])
        step("login", "login", "--id-number", HOLDER["id_number"])
        step("agree", "agree", "--yes")
        step("list", "list")
        step("annotate", "annotate", CERTIFICATE_NO, "--scenario", "self-use", "--days", "90")
        step("pending", "download", CERTIFICATE_NO, "-o", shown(pdf), expect=(4,))
        step("process", "admin", "process")
        step("download", "download", CERTIFICATE_NO, "-o", shown(pdf))
        step("verify", "verify", shown(pdf))
        step("trust", "admin", "trust", "-o", shown(bundle))
        payload = _qr_payload(pdf)
        step("verify_qr", "verify", "--qr", payload, "--trust", shown(bundle))
        step("lookup", "verify", "--number", CERTIFICATE_NO, "--name", HOLDER["name"])
        _member_flow(step, workdir, env, shown)
        verified = True
    except DemoFailed as failure:
        if say:
            say(f"[bold red]{escape(i18n.t('demo.failed', lang))}[/] {escape(str(failure))}", markup=True)
    finally:
        if not kept and verified:
            shutil.rmtree(workdir, ignore_errors=True)
    left = workdir.exists()   # kept, or a failed run's folder left for a look
    made = {"certificate_pdf": pdf, "member_pdf": workdir / "member.pdf", "trust_bundle": bundle,
            "home": home, "roster": roster, "member_roster": workdir / "members.csv"}
    files_left = {name: str(path) for name, path in made.items() if left and path.exists()}
    return {"verified": verified, "kept": kept, "folder": str(workdir) if left else None,
            "home": files_left.get("home"), "pdf": files_left.get("certificate_pdf"), "files": files_left,
            "holder": {"id_number": HOLDER["id_number"], "password": HOLDER["password"]},
            "steps": log}


DEMO_PASSPHRASE = "demo passphrase, not for production"


def _check_empty(folder: Path, lang: str) -> None:
    """``--keep DIR``: a new or empty folder, so a second run does not trip over the first."""
    from certcli.errors import UsageError

    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise UsageError(detail=i18n.t("demo.keep_not_empty", lang, folder=str(folder)))


def escape(text: str) -> str:
    """Text shown inside rich markup (a file name with [brackets] is not a style)."""
    return text.replace("[", "\\[")


MEMBER = {"number": "2021CPA110000001", "name": "赵六", "id_number": "110108198511120038",
          "approval_no": "京注协〔2021〕15号"}


def _member_flow(step, workdir: Path, env: dict, shown: Callable[[Path], str]) -> None:
    """One membership certificate: two reviews, initial password, photo, details, signed PDF."""
    data = files("certcli.data")
    (workdir / "photos").mkdir(exist_ok=True)
    (workdir / "photos" / "exam-2021CPA110000001.jpg").write_bytes(data.joinpath("demo_member_photo.jpg").read_bytes())
    (workdir / "members.csv").write_bytes(data.joinpath("demo_members.csv").read_bytes())
    initial = workdir / "initial-password.txt"
    member_pdf = workdir / "member.pdf"
    step("m_issue", "admin", "issue", shown(workdir / "members.csv"))
    step("m_local", "admin", "member", "review", MEMBER["number"], "--stage", "local", "--approve")
    step("m_national", "admin", "member", "review", MEMBER["number"], "--stage", "national", "--approve")
    step("m_status", "member", "status", "--id-number", MEMBER["id_number"], "--name", MEMBER["name"],
         "--approval-no", MEMBER["approval_no"], "--password-file", shown(initial))
    env["CERTCLI_PASSWORD"] = initial.read_text().strip()
    env["CERTCLI_NEW_PASSWORD"] = "demo-member-password-1"
    step("m_login", "login", "--cert-number", MEMBER["number"])
    step("m_photo", "member", "photo", "--use", "exam")
    step("m_confirm", "member", "confirm", "--email", "zhao@example.cn", "--yes")
    step("m_request", "member", "download", "-o", shown(member_pdf), "--reveal", "mobile", expect=(4,))
    step("m_process", "admin", "process")
    step("m_download", "member", "download", "-o", shown(member_pdf), "--reveal", "mobile")
    step("m_verify", "verify", shown(member_pdf))


def _qr_payload(pdf: Path) -> str:
    from pypdf import PdfReader

    return str(PdfReader(pdf).metadata["/CertcliQR"])


if __name__ == "__main__":  # pragma: no cover
    print(json.dumps(run_demo(None), ensure_ascii=False, indent=1))
