"""Run the certcli benchmarks and print a table of figures.

    python bench/run.py            # full: 100k and 1M-row imports, 10,000 documents
    python bench/run.py --quick    # 20k and 100k rows, 1,000 documents, 1,000 PDFs batch-verified
    python bench/run.py --json     # also write bench/results.json

Progress goes to stderr, the table to stdout.  See bench/README.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import (batch_verify_bench, cli_home, cold_bench, import_bench, postgres_bench,  # noqa: E402
                   process_bench, query_bench, render_bench, server_bench, verify_bench)
from bench.common import REPO, Figure, format_value, log, use_snapshot, verdict  # noqa: E402

SECTIONS = ("import", "query", "cold", "render", "process", "verify", "serve", "batch", "postgres")


@dataclass(frozen=True)
class Plan:
    import_sizes: tuple[int, ...]
    documents: int
    cli_runs: int = 10
    lib_runs: int = 50
    serve_seconds: float = 20.0      # per workload and worker count (bench/server_bench.py)
    batch_pdfs: int = 5000           # genuine PDFs for `certcli verify DIR` (bench/batch_verify_bench.py)
    batch_sample: int = 50           # one-process-per-file runs timed, extrapolated to batch_pdfs
    pg_import_rows: int = 1_000_000  # PostgreSQL import and list/info (bench/postgres_bench.py)
    pg_documents: int = 2_000        # processed by 1, 2 and 4 concurrent runs, on each backend


FULL = Plan(import_sizes=(100_000, 1_000_000), documents=10_000)
QUICK = Plan(import_sizes=(20_000, 100_000), documents=1_000, serve_seconds=10.0, batch_pdfs=1_000, batch_sample=20,
             pg_import_rows=100_000, pg_documents=300)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="certcli benchmarks")
    parser.add_argument("--quick", action="store_true", help="smaller sizes (~3 minutes)")
    parser.add_argument("--json", action="store_true", help="also write bench/results.json")
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated sections to run (default: all of {','.join(SECTIONS)})")
    parser.add_argument("--keep", action="store_true", help="keep the temporary work folder")
    args = parser.parse_args(argv)
    args.only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(args.only) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    return args


def run_sections(plan: Plan, only: list[str], workdir: Path) -> list[Figure]:
    pycache = workdir / "pycache"
    figures: list[Figure] = []
    if "import" in only or "query" in only:
        sizes = plan.import_sizes if "import" in only else plan.import_sizes[-1:]
        import_figures, big_home = import_bench.run(workdir, list(sizes))
        figures += import_figures if "import" in only else []
        if "query" in only:
            figures += query_bench.run(big_home, sizes[-1], plan.lib_runs, plan.cli_runs, pycache)
    if "cold" in only or "verify" in only or "serve" in only or "batch" in only:
        cli = cli_home.setup(workdir / "cli", pycache)
        if "cold" in only:
            figures += cold_bench.run(cli, plan.cli_runs)
        if "verify" in only:
            figures += verify_bench.run(cli, plan.cli_runs, plan.lib_runs)
        if "serve" in only:
            figures += server_bench.run(cli, plan.serve_seconds)
        if "batch" in only:
            figures += batch_verify_bench.run(cli, plan.batch_pdfs, plan.batch_sample)
    if "render" in only:
        figures += render_bench.run(workdir, plan.lib_runs)
    if "process" in only:
        figures += process_bench.run(workdir, plan.documents)
    if "postgres" in only:
        figures += postgres_bench.run(workdir, plan.pg_import_rows, plan.pg_documents, plan.lib_runs, plan.cli_runs,
                                      pycache)
    return figures


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def environment(quick: bool) -> dict:
    """What was measured where: mode, interpreter, machine, code version, load before."""
    commit = _git("rev-parse", "--short", "HEAD")
    if commit and _git("status", "--porcelain", "--", "certcli"):
        commit += "+dirty"   # the library differs from the commit
    return {"mode": "quick" if quick else "full", "python": platform.python_version(), "cpus": os.cpu_count(),
            "platform": platform.platform(), "commit": commit,
            "loadavg_before": [round(x, 2) for x in os.getloadavg()], "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def render_table(figures: list[Figure], env: dict) -> str:
    header = ("section", "measurement", "value", "target", "ok", "note")
    ordered = sorted(figures, key=lambda f: f.section)   # stable: keeps each section's own order
    rows = [(f.section, f.name, format_value(f.value, f.unit), f.target, verdict(f.ok), f.note) for f in ordered]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells) -> str:
        return "  ".join(str(c).rjust(w) if i == 2 else str(c).ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    title = (f"certcli benchmarks ({env['mode']}) — Python {env['python']}, {env['cpus']} CPUs, "
             f"commit {env['commit'] or '?'}, {env['seconds']:.0f} s, "
             f"load avg {env['loadavg_before'][0]:.2f} → {env['loadavg_after'][0]:.2f}")
    rule = "-" * len(line(header))
    return "\n".join([title, rule, line(header), rule, *(line(r) for r in rows), rule])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = QUICK if args.quick else FULL
    workdir = Path(tempfile.mkdtemp(prefix="certcli-bench-"))
    log(f"work folder {workdir} ({'quick' if args.quick else 'full'} run: {', '.join(args.only)})")
    start = time.perf_counter()
    try:
        env = environment(args.quick)
        use_snapshot(workdir / "src", workdir / "pycache")   # one code version, even if the tree changes
        figures = run_sections(plan, args.only, workdir)
    finally:
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    env.update(seconds=round(time.perf_counter() - start, 1), loadavg_after=[round(x, 2) for x in os.getloadavg()])
    print(render_table(figures, env))
    if args.json:
        out = Path(__file__).with_name("results.json")
        out.write_text(json.dumps({"environment": env, "figures": [f.as_dict() for f in figures]},
                                  ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        log(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
