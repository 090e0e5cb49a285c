"""Regenerate docs/sample-certificate.png from examples/roster.csv through the real
pipeline: the demo issues, annotates, processes and signs; pdftoppm renders page 1.
The clock is fixed (CERTCLI_NOW, unless set): the picture's date line reads
"有效期至 2026年05月29日（北京时间）" every time it is made."""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from certcli.demo import CERTIFICATE_NO, run_demo  # noqa: E402


def main() -> None:
    os.environ.setdefault("CERTCLI_NOW", "2026-03-01T10:00:00+08:00")
    with tempfile.TemporaryDirectory() as folder:
        result = run_demo(Path(folder), lang="zh")
        if not result["verified"]:
            sys.exit("demo failed: " + str(result["steps"][-1]))
        pdf = Path(folder) / f"{CERTIFICATE_NO}.pdf"
        target = ROOT / "docs" / "sample-certificate"
        subprocess.run(["pdftoppm", "-r", "100", "-png", "-singlefile", str(pdf), str(target)], check=True)
        print(f"{target}.png")


if __name__ == "__main__":
    main()
