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

HOLDER = {"name": "王小明", "id_number": "110101199003074477"}
CERTIFICATE_NO = "2022ECO110100001"
EXEMPT_NO = "2019TAX310100003"


class DemoFailed(Exception):
    pass


def run_demo(folder: Path | None, *, lang: str = "en", say: Callable | None = None) -> dict:
    workdir = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="certcli-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    home = workdir / "home"
    env = dict(os.environ, CERTCLI_HOME=str(home), CERTCLI_KEY_PASSPHRASE="demo passphrase, not for production",
               CERTCLI_PASSWORD="demo-password-123", CERTCLI_LANG=lang)
    # the child processes import the same certcli as this one, installed or not
    package_parent = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_parent, os.environ.get("PYTHONPATH")]))
    roster = workdir / "roster.csv"
    roster.write_bytes(files("certcli.data").joinpath("demo_roster.csv").read_bytes())
    pdf = workdir / f"{CERTIFICATE_NO}.pdf"
    bundle = workdir / "trust.pem"
    log: list[dict] = []

    def step(key: str, *args: str, expect: tuple[int, ...] = (0,)) -> dict:
        shown = "certcli " + " ".join(args)
        if say:
            say(f"\n[bold cyan]▶ {i18n.t('demo.' + key, lang)}[/]\n[dim]$ {shown}[/]")
        proc = subprocess.run([sys.executable, "-m", "certcli", *args], env=env, capture_output=True,
                              text=True, cwd=workdir)
        if say:
            out = (proc.stdout + proc.stderr).rstrip()
            say(out, markup=False) if out else None
        log.append({"step": key, "command": shown, "exit_code": proc.returncode})
        if proc.returncode not in expect:
            raise DemoFailed(f"{shown} exited {proc.returncode}: {proc.stderr.strip()[-300:]}")
        return proc

    verified = False
    try:
        step("init", "admin", "init")
        step("issue", "admin", "issue", str(roster), expect=(6,))
        step("register", "register", "--name", HOLDER["name"], "--id-number", HOLDER["id_number"])
        step("login", "login", "--id-number", HOLDER["id_number"])
        step("agree", "agree", "--yes")
        step("list", "list")
        step("annotate", "annotate", CERTIFICATE_NO, "--scenario", "self-use", "--days", "90")
        step("pending", "download", CERTIFICATE_NO, "-o", str(pdf), expect=(4,))
        step("process", "admin", "process")
        step("download", "download", CERTIFICATE_NO, "-o", str(pdf))
        step("verify", "verify", str(pdf))
        step("trust", "admin", "trust", "-o", str(bundle))
        payload = _qr_payload(pdf)
        step("verify_qr", "verify", "--qr", payload, "--trust", str(bundle))
        step("lookup", "verify", "--number", CERTIFICATE_NO, "--name", HOLDER["name"])
        _member_flow(step, workdir, env)
        verified = True
    except DemoFailed as failure:
        if say:
            say(f"[bold red]demo failed:[/] {failure}")
    finally:
        if folder is None and verified:
            shutil.rmtree(workdir, ignore_errors=True)
    return {"verified": verified, "folder": str(workdir) if folder or not verified else None,
            "pdf": str(pdf) if folder else None, "steps": log}


MEMBER = {"number": "2021CPA110000001", "name": "赵六", "id_number": "110108198511120038",
          "approval_no": "京注协〔2021〕15号"}


def _member_flow(step, workdir: Path, env: dict) -> None:
    """One membership certificate: two reviews, initial password, photo, details, signed PDF."""
    data = files("certcli.data")
    (workdir / "photos").mkdir(exist_ok=True)
    (workdir / "photos" / "exam-2021CPA110000001.jpg").write_bytes(data.joinpath("demo_member_photo.jpg").read_bytes())
    (workdir / "members.csv").write_bytes(data.joinpath("demo_members.csv").read_bytes())
    initial = workdir / "initial-password.txt"
    member_pdf = workdir / "member.pdf"
    step("m_issue", "admin", "issue", str(workdir / "members.csv"))
    step("m_local", "admin", "member", "review", MEMBER["number"], "--stage", "local", "--approve")
    step("m_national", "admin", "member", "review", MEMBER["number"], "--stage", "national", "--approve")
    step("m_status", "member", "status", "--id-number", MEMBER["id_number"], "--name", MEMBER["name"],
         "--approval-no", MEMBER["approval_no"], "--password-file", str(initial))
    env["CERTCLI_PASSWORD"] = initial.read_text().strip()
    env["CERTCLI_NEW_PASSWORD"] = "demo-member-password-1"
    step("m_login", "login", "--cert-number", MEMBER["number"])
    step("m_photo", "member", "photo", "--use", "exam")
    step("m_confirm", "member", "confirm", "--email", "zhao@example.cn", "--yes")
    step("m_request", "member", "download", "-o", str(member_pdf), "--reveal", "mobile", expect=(4,))
    step("m_process", "admin", "process")
    step("m_download", "member", "download", "-o", str(member_pdf), "--reveal", "mobile")
    step("m_verify", "verify", str(member_pdf))


def _qr_payload(pdf: Path) -> str:
    from pypdf import PdfReader

    return str(PdfReader(pdf).metadata["/CertcliQR"])


if __name__ == "__main__":  # pragma: no cover
    print(json.dumps(run_demo(None), ensure_ascii=False, indent=1))
