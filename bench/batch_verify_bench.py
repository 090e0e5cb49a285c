"""8. batch verify: N genuine PDFs checked by one ``certcli verify DIR`` (a pool of worker
processes over the cores, issue 16) against the one-process-per-file loop
(``for f in DIR/*.pdf; do certcli verify "$f"; done``).

The N PDFs are hard links to the signed PDF of the benchmark home (bench/cli_home.py), so every
file is a genuine document verified in full (signature, chain, registry, status, window).
The loop would take most of an hour at N = 5,000, so it is timed on a sample (50 files by
default, one after the other, each a cold process after one untimed warm-up run) and
extrapolated to N: the output says so.

    python -m bench.batch_verify_bench            # 5,000 PDFs
    python -m bench.batch_verify_bench --quick    # 1,000 PDFs, a sample of 20
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.cli_home import CliHome  # noqa: E402
from bench.common import Figure, log  # noqa: E402

TARGET_PER_SECOND = 40.0        # on 2 cores, for 5,000 PDFs
DEFAULT_PDFS, QUICK_PDFS = 5000, 1000
DEFAULT_SAMPLE, QUICK_SAMPLE = 50, 20


def make_folder(cli: CliHome, count: int) -> Path:
    """``count`` genuine PDFs in 50 sub-folders (hard links where the file system allows)."""
    folder = cli.workdir / "batch"
    shutil.rmtree(folder, ignore_errors=True)
    for i in range(count):
        sub = folder / f"{i % 50:02}"
        sub.mkdir(parents=True, exist_ok=True)
        target = sub / f"{i:05}.pdf"
        try:
            os.link(cli.pdf, target)
        except OSError:
            shutil.copyfile(cli.pdf, target)
    return folder


def time_batch(cli: CliHome, folder: Path, count: int) -> dict:
    """One ``certcli verify DIR --jsonl`` process; its summary line must count every file valid."""
    argv = [sys.executable, "-m", "certcli", "verify", str(folder), "--jsonl"]
    start = time.perf_counter()
    done = subprocess.run(argv, env=cli.env, cwd=cli.workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seconds = time.perf_counter() - start
    lines = done.stdout.decode("utf-8", "replace").splitlines()
    summary = json.loads(lines[-1]).get("summary", {}) if lines else {}
    if done.returncode != 0 or summary.get("valid") != count:
        raise RuntimeError(f"batch verify exited {done.returncode}: {summary} {done.stderr.decode()[-400:]}")
    return {"seconds": seconds, "per_second": count / seconds}


def time_per_process(cli: CliHome, folder: Path, sample: int) -> dict:
    """``certcli verify FILE`` once per file, one after the other, on ``sample`` of the files."""
    files = sorted(folder.rglob("*.pdf"))[:sample]

    def once(path: Path) -> None:
        done = subprocess.run([sys.executable, "-m", "certcli", "verify", str(path)], env=cli.env,
                              cwd=cli.workdir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if done.returncode != 0:
            raise RuntimeError(f"verify {path} exited {done.returncode}: {done.stderr.decode()[-400:]}")

    once(files[0])                       # warm-up: the bytecode cache is written
    start = time.perf_counter()
    for path in files:
        once(path)
    seconds = time.perf_counter() - start
    return {"files": len(files), "seconds": seconds, "per_file": seconds / len(files),
            "per_second": len(files) / seconds}


def run(cli: CliHome, count: int = DEFAULT_PDFS, sample: int = DEFAULT_SAMPLE) -> list[Figure]:
    section = "8 batch verify"
    cores = os.cpu_count() or 1
    log(f"batch verify: {count} genuine PDFs (hard links to one signed PDF)")
    folder = make_folder(cli, count)
    log(f"batch verify: one process per file, {sample} files timed one after the other")
    loop = time_per_process(cli, folder, sample)
    log(f"batch verify: certcli verify DIR --jsonl over {count} files, {cores} cores")
    batch = time_batch(cli, folder, count)
    shutil.rmtree(folder, ignore_errors=True)
    extrapolated = loop["per_file"] * count
    speedup = batch["per_second"] / loop["per_second"]
    return [
        Figure(section, f"certcli verify DIR ({count:,} PDFs, {cores} cores)", batch["per_second"], "PDFs/s",
               f">= {TARGET_PER_SECOND:g} PDFs/s", batch["per_second"] >= TARGET_PER_SECOND,
               f"{batch['seconds']:.1f} s in all"),
        Figure(section, "one process per file (certcli verify FILE)", loop["per_second"], "PDFs/s",
               note=f"{loop['files']} files timed, {loop['per_file'] * 1000:.0f} ms each; extrapolated to "
                    f"{count:,}: {extrapolated:,.0f} s"),
        Figure(section, "  batch / per-process loop", speedup, "x",
               note=f"{count:,} PDFs: {batch['seconds']:.0f} s instead of ~{extrapolated / 60:.0f} min"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="certcli verify DIR against one process per file")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_PDFS:,} PDFs, a sample of {QUICK_SAMPLE}")
    parser.add_argument("-n", "--pdfs", type=int, help=f"PDFs in the folder (default {DEFAULT_PDFS:,})")
    parser.add_argument("--sample", type=int, help=f"per-process runs timed (default {DEFAULT_SAMPLE})")
    parser.add_argument("--keep", action="store_true", help="keep the temporary work folder")
    args = parser.parse_args(argv)
    count = args.pdfs or (QUICK_PDFS if args.quick else DEFAULT_PDFS)
    sample = args.sample or (QUICK_SAMPLE if args.quick else DEFAULT_SAMPLE)
    from bench import cli_home
    from bench.common import print_figures, use_snapshot

    workdir = Path(tempfile.mkdtemp(prefix="certcli-batch-bench-"))
    try:
        use_snapshot(workdir / "src", workdir / "pycache")    # one code version, even if the tree changes
        cli = cli_home.setup(workdir / "cli", workdir / "pycache")
        figures = run(cli, count, min(sample, count))
    finally:
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print_figures(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
