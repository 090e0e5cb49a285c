"""2. CLI cold start: whole ``python -m certcli`` processes against ``python -c pass``."""
from __future__ import annotations

import sys

from bench.cli_home import CliHome
from bench.common import Figure, command_ms, log

OVERHEAD_TARGET_MS = 150.0


def run(cli: CliHome, runs: int) -> list[Figure]:
    py = sys.executable
    commands = {
        "python -c pass": [py, "-c", "pass"],
        "certcli --help": [py, "-m", "certcli", "--help"],
        "certcli list": [py, "-m", "certcli", "list"],
        "certcli info CERT": [py, "-m", "certcli", "info", cli.certificate_no],
    }
    times = {}
    for label, argv in commands.items():
        log(f"cold start: {label}, median of {runs}")
        times[label] = command_ms(argv, cli.env, runs, cwd=cli.workdir)
    section = "2 cold start"
    base = times["python -c pass"]
    figures = [Figure(section, "python -c pass", base, "ms")]
    for label in ("certcli --help", "certcli list", "certcli info CERT"):
        over = times[label] - base
        figures.append(Figure(section, label, times[label], "ms"))
        figures.append(Figure(section, f"  {label} - python", over, "ms", f"<= {OVERHEAD_TARGET_MS:g} ms",
                              over <= OVERHEAD_TARGET_MS))
    # As this checkout runs here without a bytecode cache (PYTHONDONTWRITEBYTECODE=1 in the environment).
    log(f"cold start: certcli --help without bytecode cache, median of {runs}")
    env = {k: v for k, v in cli.env.items() if k != "PYTHONPYCACHEPREFIX"}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    no_cache = command_ms([py, "-m", "certcli", "--help"], env, runs, cwd=cli.workdir)
    figures.append(Figure(section, "certcli --help, no .pyc for certcli", no_cache, "ms",
                          note="informational: source checkout, PYTHONDONTWRITEBYTECODE=1"))
    return figures
