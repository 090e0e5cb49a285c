"""Regenerate docs/verify-page.png: the verification page on a 375 x 812 phone screen (at 2x),
as tests/test_browser.py opens it from a real certificate's QR code (headless Debian
chromium through Playwright; the server's clock is fixed by the tests, CERTCLI_NOW)."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    target = ROOT / "docs" / "verify-page.png"
    env = {**os.environ, "CERTCLI_PAGE_PICTURE": str(target)}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider",
                           "tests/test_browser.py::test_the_scanned_url_opens_a_valid_verdict_with_the_facts"],
                          cwd=ROOT, env=env)
    if done.returncode:
        sys.exit(done.returncode)
    print(target)


if __name__ == "__main__":
    main()
