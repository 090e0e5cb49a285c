"""Every command example in the README runs, in order, with the exit code its comment states."""
import os
import re
import shutil
import subprocess

from conftest import ROOT, need_tool


def readme_script() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Commands", 1)[1].split("## Exit codes", 1)[0]
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        for line in block.splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            expected = re.search(r"#\s*exit (\d+)", line)
            code = expected.group(1) if expected else "0"
            command = line.split("  #")[0].rstrip() if "  #" in line else line
            number = len(lines) + 1
            lines.append(f"{command}\nrc=$?; if [ $rc -ne {code} ]; then echo \"FAILED: example {number} exited $rc\" >&2;"
                         f" exit 1; fi")
    return "\n".join(lines)


def test_readme_command_examples_run(tmp_path):
    need_tool("certcli")
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    script = readme_script().replace("/tmp/certcli-readme", str(tmp_path / "home"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTCLI_")}
    result = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, env=env,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-2000:]
    assert (tmp_path / "cert.pdf").exists() and (tmp_path / "trust.pem").exists()


def test_ci_smoke_example(tmp_path):
    need_tool("certcli")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTCLI_")}
    result = subprocess.run(["bash", str(ROOT / "examples" / "ci_smoke.sh")], capture_output=True, text=True,
                            env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "smoke test passed" in result.stdout
