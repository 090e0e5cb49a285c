"""Shared plumbing for the benchmarks: constants, timing, child processes, results."""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parent.parent
# Where child processes import certcli and bench from, and keep their bytecode (see use_snapshot).
SOURCE = REPO
PYCACHE: Path | None = None
NOW_ISO = "2026-03-01T10:00:00+08:00"
NOW = datetime.fromisoformat(NOW_ISO)
PASSPHRASE = "bench passphrase, not for production"
PASSWORD = "bench-password-123"
CHILD_MARK = "BENCH-RESULT "
_STARTED = time.perf_counter()


def log(message: str) -> None:
    """A progress line on stderr, with the seconds since the run started."""
    print(f"[{time.perf_counter() - _STARTED:7.1f}s] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- timing

def median_ms(fn: Callable[[], object], runs: int, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` in milliseconds, after ``warmup`` untimed calls."""
    return interleaved_ms({"fn": fn}, runs, warmup)["fn"]


def interleaved_ms(fns: dict[str, Callable[[], object]], runs: int, warmup: int = 1) -> dict[str, float]:
    """Median wall time (ms) of each function, timed in turns (A B C A B C ...).

    Figures that are compared with each other are measured interleaved, so that a
    change in machine load during the run affects all of them alike.
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(times) * 1000 for name, times in samples.items()}


def base_env(pycache: Path | None = None, **extra: str) -> dict:
    """Environment for child processes: certcli and bench importable from SOURCE.

    With ``pycache``, bytecode is cached there (outside the repository): this
    machine exports PYTHONDONTWRITEBYTECODE=1, but an installed certcli has its
    .pyc files, so cold starts are measured with a cache, after one untimed
    warm-up run.  Without it, the environment's own setting stands.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SOURCE), os.environ.get("PYTHONPATH")]))
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    env.update(extra)
    return env


def commands_ms(commands: dict[str, list[str]], env: dict, runs: int, cwd: Path | None = None,
                expect: tuple[int, ...] = (0,)) -> dict[str, float]:
    """Median wall time (ms) of whole commands (process start to exit), run in turns."""
    def once(argv: list[str]) -> None:
        proc = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if proc.returncode not in expect:
            raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.decode()[-400:]}")

    return interleaved_ms({label: (lambda argv=argv: once(argv)) for label, argv in commands.items()}, runs)


def use_snapshot(folder: Path, pycache: Path) -> Path:
    """Copy certcli/ and bench/ to ``folder`` and run every child from that copy, so a
    run measures one version of the code even while the working tree is being edited.
    Children cache their bytecode in ``pycache``."""
    global SOURCE, PYCACHE
    import shutil

    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "results.json")
    for package in ("certcli", "bench"):
        shutil.copytree(REPO / package, folder / package, ignore=ignore)
    sys.path.insert(0, str(folder))   # the parent's own lazy certcli imports too
    SOURCE, PYCACHE = folder, pycache
    return folder


def run_cli(args: list[str], env: dict, cwd: Path | None = None, expect: tuple[int, ...] = (0,)) -> str:
    """Run ``python -m certcli ARGS`` once (setup steps); returns stdout."""
    proc = subprocess.run([sys.executable, "-m", "certcli", *args], env=env, cwd=cwd,
                          capture_output=True, text=True)
    if proc.returncode not in expect:
        raise RuntimeError(f"certcli {' '.join(args)} exited {proc.returncode}: "
                           f"{(proc.stderr or proc.stdout)[-400:]}")
    return proc.stdout


def run_child(target: str, **kwargs) -> dict:
    """Run ``module:function(**kwargs)`` in a fresh Python process (bench/child.py).

    The function returns a JSON-able dict; the child adds ``maxrss_mib``, its
    peak resident set size read at the very end, and ``cpu_seconds`` (its own
    and its children's user + system time, over the whole child).
    """
    argv = [sys.executable, "-m", "bench.child", target, json.dumps(kwargs)]
    proc = subprocess.run(argv, env=base_env(PYCACHE), cwd=SOURCE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith(CHILD_MARK)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"child {target} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    return json.loads(lines[-1][len(CHILD_MARK):])


# --------------------------------------------------------------------------- results

@dataclass
class Figure:
    """One line of the results table."""
    section: str
    name: str
    value: float | None
    unit: str
    target: str = ""
    ok: bool | None = None   # None: no target, or not measured
    note: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def verdict(ok: bool | None) -> str:
    return {True: "ok", False: "MISS", None: ""}[ok]


def print_figures(figures: list, target_width: int = 16) -> None:
    """A bench section's figures, one line each, when it runs on its own."""
    for f in figures:
        print(f"{f.name:48s} {format_value(f.value, f.unit):>14s}  {f.target:{target_width}s} {verdict(f.ok):4s}  {f.note}")


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit in ("rows/s", "docs/s"):
        return f"{value:,.0f} {unit}"
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "%":
        return f"{value:.0f}%"
    digits = 3 if abs(value) < 1 else 2 if abs(value) < 10 else 1
    return f"{value:,.{digits}f} {unit}"
