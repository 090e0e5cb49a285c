"""7. serve: the HTTP service under load (issue 13 item 8).

The real ``certcli serve`` on 127.0.0.1 (a free port; loopback only), over the CLI home of
bench/cli_home.py, with the per-address rate limits lifted (``--lookup-rate off
--login-rate off``: the bench is one client address).  32 concurrent clients drive each
workload for ``seconds``: bounded, a fixed number of coroutines each with one keep-alive
connection, running until the deadline.  They are
:class:`bench.loopback_client.LoopbackClient` (HTTP/1.1 over asyncio streams, on uvloop
when it is installed), not ``httpx.AsyncClient``: the clients share the 2 cores with the
server, and httpx spent 1.4-2 ms of CPU per request here (this client ~0.1 ms), more than
the server's whole QR verification: with it the clients alone capped ``/healthz`` at
400-1,000 requests/s whatever the server.

* ``POST /api/v1/verify/qr`` with the QR payload of the holder's signed PDF;
* ``GET /api/v1/lookup?number=N&name=NAME`` with a matching number and name (hits: misses
  would lock the name, issue 12).  Each lookup pays the deliberate cost of a guess at a
  public oracle (certcli/oracles.py): one scrypt at the login's parameters (~35 ms of one
  core) and a floor of 0.25 s whatever happens, so that hits and misses take the same time.
  There is no switch to lift it, and the bench does not add one: the figure is what a
  public lookup costs by design;
* a holder flow: ``login`` (scrypt, as every login) → ``GET certificates`` →
  ``GET download/{no}`` (the signed PDF, base64 in JSON).

Both of those are bounded by scrypt, whatever the server: the bench times one scrypt at the
login's parameters (:data:`certcli.passwords._SCRYPT`) in this process, with the implementation
the server uses (:func:`certcli.server.state.fastest_scrypt`: libsodium's where PyNaCl is
installed) and with hashlib's for comparison, and prints the ceiling it sets, cores ÷ that
time (and for lookups also 32 clients ÷ the 0.25 s floor).

Throughput is completed requests (or flows) per second over the whole run, latencies are
per request (per flow) with p50 and p99, errors are any answer but 200.  The note gives the
server's CPU time per request and the cores it kept busy: well under 2 with the clients'
share means other processes on the machine took the rest.  The server's RSS
(the process and its worker processes, from /proc) is read after a warm-up and again
after the last workload: it should stay flat.  The whole set is run with ``--workers 1``
and ``--workers 2``.  The clients run on the same 2 cores as the server (the one machine
there is), so they take a share of the CPU the server could have used.

    python -m bench.server_bench [--seconds 15] [--workers 1,2]     # alone, its own temp folder
    python bench/run.py --only serve                                # as a section of the suite
"""
from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.cli_home import HOLDER, CliHome  # noqa: E402
from bench.common import PASSWORD, Figure, log  # noqa: E402

CLIENTS = 32
TARGETS = {"healthz": (None, None), "verify_qr": (1000.0, 50.0), "lookup": (300.0, 100.0),
           "holder_flow": (50.0, None)}
RSS_GROWTH_LIMIT = 0.15     # "flat": at most 15 % above the RSS after the warm-up
STARTUP_SECONDS = 30


@dataclass
class Workload:
    name: str
    done: int = 0
    errors: int = 0
    seconds: float = 0.0
    server_cpu: float = 0.0          # the server's CPU seconds over the run
    latencies: list[float] = field(default_factory=list)

    def percentile(self, share: float) -> float | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tree(pid: int) -> list[int]:
    """A process and all its descendants (uvicorn's worker processes)."""
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    stack += [int(child) for child in children.read().split()]
        except OSError:
            continue
    return found


def rss_mib(pid: int) -> float:
    """Resident memory of the server: the process and its workers, MiB."""
    total = 0
    for current in _tree(pid):
        try:
            with open(f"/proc/{current}/status") as status:
                total += next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
        except (OSError, StopIteration):
            continue
    return total / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the server (the process and its workers) so far."""
    total = 0
    for current in _tree(pid):
        try:
            with open(f"/proc/{current}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])      # utime, stime (fields 14, 15)
        except (OSError, IndexError, ValueError):
            continue
    return total / os.sysconf("SC_CLK_TCK")


class Served:
    """``certcli serve`` for the bench, stopped with SIGTERM."""

    def __init__(self, cli: CliHome, workers: int):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in cli.env.items() if k not in ("CERTCLI_KEY_PASSPHRASE", "CERTCLI_PASSWORD")}
        self.log = open(cli.workdir / f"serve-{workers}.log", "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "certcli", "--home", str(cli.home), "serve", "--port", str(self.port),
             "--workers", str(workers), "--lookup-rate", "off", "--login-rate", "off"],
            env=env, cwd=cli.workdir, stdout=subprocess.DEVNULL, stderr=self.log)

    def wait_ready(self) -> None:
        import httpx

        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"serve exited {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError("serve did not become ready")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


# --------------------------------------------------------------------------- the clients

async def _drive(url: str, seconds: float, make_step) -> Workload:
    """CLIENTS clients, each a :class:`LoopbackClient` (one keep-alive connection),
    repeating ``step(client)`` until the deadline; a step returns the number of its
    requests that were not answered 200."""
    from bench.loopback_client import LoopbackClient

    workload = Workload(make_step.__name__)
    clients = [LoopbackClient(url, timeout=30) for _ in range(CLIENTS)]
    started = time.perf_counter()
    deadline = started + seconds

    async def one(client) -> None:
        step = make_step(client)
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            try:
                bad = await step()
            except Exception:  # noqa: BLE001 - counted, the run goes on
                bad = 1
            workload.latencies.append(time.perf_counter() - began)
            workload.done += 1
            workload.errors += bad

    try:
        await asyncio.gather(*(one(client) for client in clients))
        workload.seconds = time.perf_counter() - started
    finally:
        for client in clients:
            await client.aclose()
    return workload


def run_clients(url: str, seconds: float, make_step) -> Workload:
    """One run of :func:`_drive` on its own event loop (uvloop's when installed: less of
    the cores the clients share with the server)."""
    try:
        import uvloop
        factory = uvloop.new_event_loop
    except ImportError:
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(_drive(url, seconds, make_step))


def scrypt_ms(scrypt, runs: int = 10) -> float:
    """CPU milliseconds of one ``scrypt(secret, salt, n, r, p, dklen)`` at the login's
    parameters, on one core (median)."""
    import statistics

    from certcli.passwords import _SCRYPT

    def once() -> float:
        started = time.process_time()
        scrypt(b"bench", b"bench salt", _SCRYPT["n"], _SCRYPT["r"], _SCRYPT["p"], 32)
        return time.process_time() - started

    once()
    return statistics.median(once() for _ in range(runs)) * 1000


def workloads(cli: CliHome) -> dict:
    from bench.rosters import person
    from bench.verify_bench import qr_payload_of

    payload = qr_payload_of(cli.pdf.read_bytes())
    name, id_number = person(HOLDER)
    number = cli.certificate_no

    def verify_qr(client):
        body = {"payload": payload}

        async def step() -> int:
            answer = await client.post("/api/v1/verify/qr", json=body)
            return int(answer.status_code != 200 or not answer.json()["valid"])
        return step

    def lookup(client):
        params = {"number": number, "name": name}

        async def step() -> int:
            answer = await client.get("/api/v1/lookup", params=params)
            return int(answer.status_code != 200 or not answer.json()["valid"])
        return step

    def healthz(client):
        async def step() -> int:
            return int((await client.get("/healthz")).status_code != 200)
        return step

    def holder_flow(client):
        credentials = {"id_number": id_number, "password": PASSWORD}

        async def step() -> int:
            login = await client.post("/api/v1/holder/login", json=credentials)
            if login.status_code != 200:
                return 1
            auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
            listed = await client.get("/api/v1/holder/certificates", headers=auth)
            fetched = await client.get(f"/api/v1/holder/download/{number}", headers=auth)
            return int(listed.status_code != 200 or fetched.status_code != 200 or "pdf" not in fetched.json())
        return step

    return {"healthz": healthz, "verify_qr": verify_qr, "lookup": lookup, "holder_flow": holder_flow}


def measure(cli: CliHome, workers: int, seconds: float) -> dict:
    """Every workload against one server with ``workers`` processes: Workloads and RSS."""
    served = Served(cli, workers)
    try:
        served.wait_ready()
        steps = workloads(cli)
        log(f"serve --workers {workers}: warm-up")
        for make in steps.values():
            run_clients(served.url, 1.0, make)
        rss_start = rss_mib(served.process.pid)
        results = {}
        for name, make in steps.items():
            log(f"serve --workers {workers}: {name}, {CLIENTS} clients, {seconds:.0f} s")
            before = cpu_seconds(served.process.pid)
            results[name] = run_clients(served.url, seconds, make)
            results[name].server_cpu = cpu_seconds(served.process.pid) - before
            log(f"  {results[name].rate:,.1f}/s, p50 {results[name].percentile(0.5):.1f} ms, "
                f"p99 {results[name].percentile(0.99):.1f} ms, {results[name].errors} errors")
        rss_end = rss_mib(served.process.pid)
    finally:
        served.stop()
    return {"workloads": results, "rss_start": rss_start, "rss_end": rss_end}


# --------------------------------------------------------------------------- figures

LABELS = {"healthz": "GET /healthz (the clients' ceiling)", "verify_qr": "POST /api/v1/verify/qr",
          "lookup": "GET /api/v1/lookup (rate limit off)",
          "holder_flow": "holder flow login→list→download"}
NOTES = {"lookup": "each pays scrypt + a 0.25 s floor (issue 12, by design)",
         "holder_flow": "login pays scrypt (by design)"}


def figures_of(workers: int, measured: dict) -> list[Figure]:
    out = []
    for name, workload in measured["workloads"].items():
        rate_target, p99_target = TARGETS[name]
        p50, p99 = workload.percentile(0.5), workload.percentile(0.99)
        unit = "flows/s" if name == "holder_flow" else "req/s"
        cpu_ms = workload.server_cpu / workload.done * 1000 if workload.done else 0.0
        busy = workload.server_cpu / workload.seconds if workload.seconds else 0.0
        note = f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, server CPU {cpu_ms:.2f} ms each ({busy:.2f} cores busy)" + \
            (f", {workload.errors} errors" if workload.errors else "")
        if name in NOTES:
            note += "; " + NOTES[name]
        out.append(Figure("serve", f"{LABELS[name]} ({workers}w)", workload.rate, unit,
                          f">= {rate_target:,.0f}" if rate_target else "",
                          None if rate_target is None else workload.rate >= rate_target and not workload.errors,
                          note))
        if p99_target is not None:
            out.append(Figure("serve", f"  p99 ({workers}w)", p99, "ms", f"< {p99_target:.0f} ms", p99 < p99_target))
    start, end = measured["rss_start"], measured["rss_end"]
    out.append(Figure("serve", f"server RSS after the run ({workers}w)", end, "MiB",
                      f"flat (<= +{RSS_GROWTH_LIMIT:.0%})", end <= start * (1 + RSS_GROWTH_LIMIT),
                      f"{start:.1f} MiB after the warm-up (all processes)"))
    return out


def scrypt_figures() -> list[Figure]:
    """What scrypt alone allows: every lookup and every holder flow pays one."""
    from certcli.oracles import GUESS_FLOOR
    from certcli.server.state import fastest_scrypt, hashlib_scrypt

    cores = os.cpu_count() or 1
    served = fastest_scrypt()
    one, openssl = scrypt_ms(served), scrypt_ms(hashlib_scrypt)
    ceiling = cores * 1000 / one
    floor = CLIENTS / GUESS_FLOOR
    which = "hashlib's" if served is hashlib_scrypt else f"libsodium's; hashlib's (OpenSSL) {openssl:.1f} ms"
    return [Figure("serve", "scrypt at the login's parameters (one core)", one, "ms", "", None,
                   f"the server's ({which}); N=2^14, r=8, p=1: every login and public guess pays one"),
            Figure("serve", "  ceiling: holder flows (scrypt alone)", ceiling, "flows/s", "", None,
                   f"{cores} cores / {one:.1f} ms, before any other work and the clients' share"),
            Figure("serve", "  ceiling: lookups", min(ceiling, floor), "req/s", "", None,
                   f"scrypt as above, and {CLIENTS} clients / the {GUESS_FLOOR} s floor of each guess "
                   f"= {floor:.0f}/s")]


def run(cli: CliHome, seconds: float = 15.0, workers: tuple[int, ...] = (1, 2)) -> list[Figure]:
    figures: list[Figure] = scrypt_figures()
    for count in workers:
        figures += figures_of(count, measure(cli, count, seconds))
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="certcli serve under load (loopback only)")
    parser.add_argument("--seconds", type=float, default=15.0, help="per workload (default 15)")
    parser.add_argument("--workers", default="1,2", help="server worker counts to run, e.g. 1,2")
    args = parser.parse_args(argv)
    from bench import cli_home
    from bench.common import print_figures

    workdir = Path(tempfile.mkdtemp(prefix="certcli-serve-bench-"))
    try:
        cli = cli_home.setup(workdir / "cli", workdir / "pycache")
        figures = run(cli, args.seconds, tuple(int(w) for w in args.workers.split(",")))
    finally:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
    print_figures(figures, target_width=14)
    return 0


if __name__ == "__main__":
    sys.exit(main())
