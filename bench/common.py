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
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def base_env(pycache: Path | None = None, **extra: str) -> dict:
    """Environment for child processes: the repo importable, bytecode cached.

    This machine exports PYTHONDONTWRITEBYTECODE=1; an installed certcli has its
    .pyc files, so cold starts are measured with a bytecode cache kept in
    ``pycache`` (outside the repository) after one untimed warm-up run.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    if pycache is not None:
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    env.update(extra)
    return env


def command_ms(argv: list[str], env: dict, runs: int, cwd: Path | None = None,
               expect: tuple[int, ...] = (0,)) -> float:
    """Median wall time of a whole command (process start to exit), in ms."""
    def once() -> None:
        proc = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if proc.returncode not in expect:
            raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.decode()[-400:]}")

    return median_ms(once, runs, warmup=1)


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
    peak resident set size read at the very end.
    """
    argv = [sys.executable, "-m", "bench.child", target, json.dumps(kwargs)]
    proc = subprocess.run(argv, env=base_env(), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
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


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit in ("rows/s", "docs/s"):
        return f"{value:,.0f} {unit}"
    if unit in ("x", "%"):
        return f"{value:.2f}{unit}" if unit == "x" else f"{value:.0f}%"
    return f"{value:,.1f} {unit}"
