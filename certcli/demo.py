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

HOLDER = {"name": "王小明", "id_number": "110101199003074477"}
CERTIFICATE_NO = "2022ECO110100001"
EXEMPT_NO = "2019TAX310100003"

_STEPS_ZH = {
    "init": "管理员初始化：数据库、根证书与人社部电子印章密钥（私钥加密保存）",
    "issue": "管理员导入证书名单（含一行错误数据：按行号报告，其余照常导入）",
    "register": "持证人员用取得证书时的证件注册",
    "login": "登录", "agree": "阅读并同意服务须知", "list": "查看我的证书",
    "annotate": "申请证书加注：本人调用，90 天", "pending": "加注完成前下载：证书生成中…",
    "process": "管理员处理加注申请：生成并签署 PDF", "download": "下载已签名的电子证书",
    "verify": "验证 PDF：签名、证书链、完整性、证书状态、加注有效期",
    "trust": "导出公开信任包", "verify_qr": "离线验证二维码内容（仅用信任包）",
    "lookup": "公开查验：证书编号 + 姓名",
    "m_issue": "会员证：导入入会申请", "m_local": "地方注协初审通过", "m_national": "中注协复审通过",
    "m_status": "申请人查询进度，领取证书编号和初始密码（写入 0600 文件）",
    "m_login": "首次登录须修改初始密码", "m_photo": "2010 年及以后通过考试：沿用考试报名照片",
    "m_confirm": "确认个人信息", "m_request": "申请下载会员证（选择二维码公开的信息）",
    "m_process": "管理员生成并签署会员证", "m_download": "下载会员证", "m_verify": "验证会员证",
}
_STEPS_EN = {
    "init": "Administrator: create the store, the root CA and the ministry seal key (encrypted at rest)",
    "issue": "Administrator: import a roster (one bad row is reported by line; the rest is imported)",
    "register": "Holder registers with the ID document used for the exam",
    "login": "Log in", "agree": "Read and accept the service terms", "list": "List my certificates",
    "annotate": "Apply for an annotation: self-use, 90 days", "pending": "Download before it is processed: generating…",
    "process": "Administrator processes requests: renders and signs PDFs", "download": "Download the signed PDF",
    "verify": "Verify the PDF: signature, chain, integrity, status, annotation window",
    "trust": "Export the public trust bundle", "verify_qr": "Verify the QR payload offline, with the bundle only",
    "lookup": "Public lookup: certificate number + name",
    "m_issue": "Membership: import the applications", "m_local": "Local association approves (first review)",
    "m_national": "National association approves (second review)",
    "m_status": "The applicant checks progress and receives the number and initial password (0600 file)",
    "m_login": "First login must change the initial password", "m_photo": "Passed in 2010 or later: reuse the exam photo",
    "m_confirm": "Confirm personal details", "m_request": "Request the member certificate (choose what the QR reveals)",
    "m_process": "Administrator renders and signs it", "m_download": "Download the member certificate",
    "m_verify": "Verify the member certificate",
}


class DemoFailed(Exception):
    pass


def run_demo(folder: Path | None, *, lang: str = "en", say: Callable | None = None) -> dict:
    workdir = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="certcli-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    home = workdir / "home"
    steps = _STEPS_ZH if lang == "zh" else _STEPS_EN
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
            say(f"\n[bold cyan]▶ {steps[key]}[/]\n[dim]$ {shown}[/]")
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
