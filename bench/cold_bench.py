"""2. CLI cold start: whole ``python -m certcli`` processes against ``python -c pass``."""
from __future__ import annotations

import sys

from bench.cli_home import CliHome
from bench.common import Figure, commands_ms, log

OVERHEAD_TARGET_MS = 150.0


def run(cli: CliHome, runs: int) -> list[Figure]:
    py = sys.executable
    commands = {
        "python -c pass": [py, "-c", "pass"],
        "certcli --help": [py, "-m", "certcli", "--help"],
        "certcli list": [py, "-m", "certcli", "list"],
        "certcli info CERT": [py, "-m", "certcli", "info", cli.certificate_no],
    }
    # A source checkout without a bytecode cache, as `python -m certcli` runs here by default
    # (this environment sets PYTHONDONTWRITEBYTECODE=1): informational.
    no_cache_env = {k: v for k, v in cli.env.items() if k != "PYTHONPYCACHEPREFIX"}
    no_cache_env["PYTHONDONTWRITEBYTECODE"] = "1"
    log(f"cold start: {', '.join(commands)}, in turns, median of {runs}")
    times = commands_ms(commands, cli.env, runs, cwd=cli.workdir)
    no_cache = commands_ms({"help": [py, "-m", "certcli", "--help"]}, no_cache_env, runs, cwd=cli.workdir)["help"]
    section = "2 cold start"
    base = times["python -c pass"]
    figures = [Figure(section, "python -c pass", base, "ms")]
    for label in ("certcli --help", "certcli list", "certcli info CERT"):
        over = times[label] - base
        figures.append(Figure(section, label, times[label], "ms"))
        figures.append(Figure(section, f"  {label} - python", over, "ms", f"<= {OVERHEAD_TARGET_MS:g} ms",
                              over <= OVERHEAD_TARGET_MS))
    figures.append(Figure(section, "certcli --help, no .pyc for certcli", no_cache, "ms",
                          note="informational: source checkout, PYTHONDONTWRITEBYTECODE=1"))
    return figures
