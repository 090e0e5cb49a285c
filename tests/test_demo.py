"""`certcli demo`, the README's first command, runs the whole flow and verifies its own PDFs."""
import json
import os
import subprocess
import sys

from conftest import ROOT


def test_demo_runs_every_step(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTCLI_")}
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run([sys.executable, "-m", "certcli", "--json", "demo", "--keep", str(tmp_path / "demo")],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    document = json.loads(result.stdout)
    assert document["verified"]
    steps = {s["step"] for s in document["steps"]}
    assert {"init", "issue", "annotate", "process", "download", "verify", "verify_qr", "lookup", "m_verify"} <= steps
    assert (tmp_path / "demo" / "2022ECO110100001.pdf").read_bytes().startswith(b"%PDF")
    assert (tmp_path / "demo" / "member.pdf").exists()
