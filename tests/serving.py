"""Helpers for the tests of ``certcli serve`` and remote mode (tests/test_server*.py,
tests/test_remote.py): a real server process on 127.0.0.1 and a free port, and the
real CLI as a subprocess."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from conftest import NOW, PASSPHRASE, PASSWORD, ROOT, Cli, Outcome, cert_row, three_certificates, write_roster

STARTUP_SECONDS = 20


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cli_env(home: Path, now: str = NOW, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTCLI_")}
    env.update(CERTCLI_HOME=str(home), CERTCLI_NOW=now, CERTCLI_PASSWORD=PASSWORD,
               CERTCLI_KEY_PASSPHRASE=PASSPHRASE, PYTHONPATH=str(ROOT), CERTCLI_LANG="en")
    env.update({k: v for k, v in extra.items() if v is not None})
    return env


Run = Outcome  # one result type for in-process and subprocess runs (code, out, err, json, error_code)


def certcli(home: Path, *args, server: str | None = None, now: str = NOW, json_mode: bool = True,
            input: str | None = None, env: dict | None = None, python_flags=(), timeout: float = 60) -> Run:
    """The real CLI in a subprocess (``--server URL`` for remote mode)."""
    argv = [sys.executable, *python_flags, "-m", "certcli", *(["--json"] if json_mode else []),
            *(["--server", server] if server else []), *map(str, args)]
    done = subprocess.run(argv, env=cli_env(home, now, **(env or {})), capture_output=True, text=True,
                          input=input, timeout=timeout, cwd=home.parent if home.parent.exists() else None)
    return Run(done.returncode, done.stdout, done.stderr)


MEMBER_NO, MEMBER_APPROVAL = "2021CPA110000001", "京注协〔2021〕15号"


def prepare_home(path: Path) -> Path:
    """admin init + admin issue of a small roster and an approved membership, as an
    administrator does it."""
    import io

    from PIL import Image

    from conftest import HOLDER_ID

    cli = Cli(path / "home")
    assert cli("admin", "init").code == 0
    buffer = io.BytesIO()
    Image.new("RGB", (300, 400), (200, 180, 160)).save(buffer, format="JPEG")
    (path / "exam.jpg").write_bytes(buffer.getvalue())
    members = write_roster(path / "members.csv", [{
        "certificate_no": MEMBER_NO, "name": "赵六", "id_type": "resident_id", "id_number": HOLDER_ID,
        "qualification": "注册会计师非执业会员", "level": "", "issued_on": "2021-03-15", "issuer": "中国注册会计师协会",
        "seal": "association", "region": "北京", "approval_no": MEMBER_APPROVAL, "photo": "exam.jpg",
        "kind": "membership", "birth_date": "", "mobile": "13800138000", "email": "", "exam_pass_year": "2015"}])
    assert cli("admin", "issue", members).code == 0
    for stage in ("local", "national"):
        assert cli("admin", "member", "review", MEMBER_NO, "--stage", stage, "--approve").code == 0
    roster = write_roster(path / "roster.csv", [
        *three_certificates(),
        cert_row(no="2024ECO440300004/B", name="张三", id_number="110101199003070011",
                 qualification="经济专业技术资格", level="初级", issued_on="2024-03-01"),
    ])
    result = cli("admin", "issue", roster)
    assert result.code == 0, result.out
    return cli.home


def copy_home(template: Path, target: Path) -> Path:
    shutil.copytree(template, target)
    return target


class Server:
    """``certcli serve`` over ``home`` on 127.0.0.1 and a free port, stopped with SIGTERM."""

    def __init__(self, home: Path, *args, now: str = NOW, env: dict | None = None, scheme: str = "http",
                 port: int | None = None):
        self.home = Path(home)
        self.port = port or free_port()   # a given port: one a verify URL already names
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self.log_path = self.home.parent / f"serve-{self.port}.log"
        argv = [sys.executable, "-m", "certcli", "--json", "--home", str(self.home), "serve", "--port", str(self.port),
                *map(str, args)]
        self._log = open(self.log_path, "wb")
        environ = cli_env(self.home, now, **(env or {}))
        for secret in ("CERTCLI_KEY_PASSPHRASE", "CERTCLI_PASSWORD"):  # the server needs neither
            environ.pop(secret)
        self.process = subprocess.Popen(argv, env=environ, stdout=subprocess.PIPE, stderr=self._log)
        self.returncode = None

    def wait_ready(self, verify=True) -> "Server":
        import httpx

        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited {self.process.returncode}: {self.log()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1, verify=verify).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise AssertionError("serve did not become ready: " + self.log()[-2000:])

    def stop(self, timeout: float = 15) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.returncode = self.process.returncode
        if self.process.stdout:
            self.stdout = self.process.stdout.read().decode("utf-8", "replace")
            self.process.stdout.close()
        self._log.close()
        return self.returncode

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def __enter__(self) -> "Server":
        try:
            return self.wait_ready()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()
