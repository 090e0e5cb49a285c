"""Hostile inputs to ``verify`` (issue 12): only regular files are read (a FIFO, a
device, a socket or a directory is ``bad_input``, exit 6, at once: never a hang),
``--trust`` is a regular file of at most 1 MiB before any parser sees it, and a
reader that closes the pipe early (``| head -1``) never changes the exit status.

Everything runs the real program in a child process (``python -m certcli``) with a
timeout: a regression here is a hang, and the shell pipeline is the point.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import EXIT_INTERNAL, PASSPHRASE, ROOT
from genuine_documents import make_genuine

TIMEOUT = 60        # a hang fails the test instead of stalling the suite


@pytest.fixture(scope="module")
def genuine(tmp_path_factory):
    return make_genuine(tmp_path_factory.mktemp("hostile"))


@pytest.fixture(scope="module")
def forged(genuine, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("forged") / "forged.pdf"
    path.write_bytes(genuine.pdf.read_bytes() + b"junk after the end\n")
    return path


def _env(genuine, **extra) -> dict:
    env = {**os.environ, "CERTCLI_HOME": str(genuine.cli.home), "CERTCLI_NOW": "", "PYTHONPATH": str(ROOT),
           "CERTCLI_KEY_PASSPHRASE": PASSPHRASE}
    env.pop("CERTCLI_SERVER", None)
    env.update(extra)
    return env


def certcli(genuine, *args, **extra) -> subprocess.CompletedProcess:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "certcli", *map(str, args)], capture_output=True, text=True,
                          timeout=TIMEOUT, env=_env(genuine, **extra), cwd=ROOT, stdin=subprocess.DEVNULL)
    done.seconds = time.monotonic() - started
    return done


def shell(genuine, script: str, unbuffered: bool) -> subprocess.CompletedProcess:
    """``script`` in bash with pipefail; ``certcli`` there is this checkout's program, its
    stdout block-buffered (a pipe's default) or unbuffered (``PYTHONUNBUFFERED=1``): a
    closed pipe then fails the first write, not the last flush."""
    prelude = f'set -o pipefail\ncertcli() {{ "{sys.executable}" -m certcli "$@"; }}\n'
    env = _env(genuine)
    env.pop("PYTHONUNBUFFERED", None)
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    return subprocess.run(["bash", "-c", prelude + script], capture_output=True, text=True, timeout=TIMEOUT,
                          env=env, cwd=ROOT, stdin=subprocess.DEVNULL)


def _bad_input(done, field: str, reason: str) -> None:
    import json

    assert done.returncode == 6, (done.returncode, done.stdout, done.stderr)
    error = json.loads(done.stdout)["error"]
    assert error["code"] == "bad_input" and error["data"]["field"] == field, error
    assert error["data"]["reason"] == reason, error
    assert "Traceback" not in done.stderr


@pytest.fixture
def odd_files(tmp_path):
    """A FIFO nobody writes to, a character device, a socket and a directory."""
    fifo = tmp_path / "fifo.pdf"
    os.mkfifo(fifo)
    sock_path = tmp_path / "s.pdf"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    yield {"fifo": fifo, "device": Path("/dev/zero"), "null device": Path("/dev/null"), "socket": sock_path,
           "directory": tmp_path}
    sock.close()


# --- only regular files ---------------------------------------------------------------------

def test_verify_path_reads_only_regular_files(genuine, odd_files):
    import json

    for kind, path in odd_files.items():
        done = certcli(genuine, "--json", "verify", path)
        assert done.seconds < 20, (kind, done.seconds)
        if kind == "directory":   # a folder is a batch of its *.pdf: here a FIFO and a socket, each unread
            batch = json.loads(done.stdout)
            assert done.returncode == 6 and batch["summary"]["unreadable"] == 2, done.stdout
            assert {r["status"] for r in batch["results"]} == {"unreadable"}, done.stdout
            continue
        _bad_input(done, "PATH", "not_a_regular_file")
    human = certcli(genuine, "--lang", "zh", "verify", odd_files["fifo"])
    assert human.returncode == 6 and "不是普通文件" in human.stderr, human.stderr
    english = certcli(genuine, "--lang", "en", "verify", odd_files["fifo"])
    assert english.returncode == 6 and "not a regular file" in english.stderr, english.stderr


def test_trust_bundle_must_be_a_regular_file_of_at_most_one_mib(genuine, odd_files, tmp_path):
    for kind, path in odd_files.items():
        done = certcli(genuine, "--json", "verify", genuine.pdf, "--trust", path)
        assert done.seconds < 20, (kind, done.seconds)
        _bad_input(done, "--trust", "not_a_regular_file")
    big = tmp_path / "big.pem"
    big.write_bytes(b"-----BEGIN CERTIFICATE-----\n" * (2**20 // 28 + 1))     # > 1 MiB, no END line
    assert big.stat().st_size > 2**20
    done = certcli(genuine, "--json", "verify", genuine.pdf, "--trust", big)
    assert done.seconds < 20, done.seconds
    _bad_input(done, "--trust", "too_large")


def test_symlinks_to_regular_files_are_fine(genuine, tmp_path):
    (tmp_path / "link.pdf").symlink_to(genuine.pdf)
    (tmp_path / "link.pem").symlink_to(genuine.bundle)
    done = certcli(genuine, "--json", "verify", tmp_path / "link.pdf", "--trust", tmp_path / "link.pem",
                   CERTCLI_HOME=str(tmp_path / "empty"))
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_fifo_swapped_in_after_the_check_is_caught_on_the_descriptor(tmp_path, monkeypatch):
    """TOCTOU: the name is checked with ``stat``, then what was actually opened with
    ``fstat``; a FIFO put in place between the two is refused, not read (no hang:
    it is opened non-blocking)."""
    from certcli.errors import BadInput
    from certcli.verification.context import read_regular_file

    regular, fifo = tmp_path / "regular.pdf", tmp_path / "fifo.pdf"
    regular.write_bytes(b"%PDF-1.7\n")
    os.mkfifo(fifo)
    real_stat = os.stat
    monkeypatch.setattr(os, "stat", lambda path, *a, **k: real_stat(regular if Path(path) == fifo else path, *a, **k))
    with pytest.raises(BadInput) as caught:
        read_regular_file(fifo, "PATH", 100)
    assert caught.value.reason == "not_a_regular_file"
    assert read_regular_file(regular, "PATH", 4) == b"%PDF"


# --- a closed pipe never changes the exit status ----------------------------------------------

# one pair by default, the other pair in the slow pass (each is a dozen subprocess runs)
@pytest.mark.parametrize("unbuffered", [False, pytest.param(True, marks=pytest.mark.slow)],
                         ids=["buffered", "unbuffered"])
@pytest.mark.parametrize("reader", ["head -1", pytest.param("true", marks=pytest.mark.slow)])
def test_closed_pipe_keeps_the_exit_status(genuine, forged, reader, unbuffered):
    """``certcli verify good.pdf | head -1`` exits 0, a NOT VALID file still exits 1,
    in human and JSON mode, whether the reader takes a line or none at all; the
    status is the one the same command has with its output going nowhere."""
    script = "\n".join(
        f'certcli {mode} verify "{path}" >/dev/null; plain=$?\n'
        f'certcli {mode} verify "{path}" | {reader}; piped=${{PIPESTATUS[0]}}\n'
        f'echo "{label} $plain $piped"'
        for label, mode, path in (("valid-human", "", genuine.pdf), ("valid-json", "--json", genuine.pdf),
                                  ("forged-human", "", forged), ("forged-json", "--json", forged)))
    done = shell(genuine, script, unbuffered)
    statuses = {line.split()[0]: line.split()[1:] for line in done.stdout.splitlines() if line[:1] in "vf"}
    assert statuses == {"valid-human": ["0", "0"], "valid-json": ["0", "0"],
                        "forged-human": ["1", "1"], "forged-json": ["1", "1"]}, done.stdout + done.stderr
    for noise in ("Traceback", "BrokenPipeError", "Exception ignored"):
        assert noise not in done.stderr, done.stderr


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "unbuffered"])
def test_closed_pipe_on_other_outputs(genuine, tmp_path, unbuffered):
    """Errors keep their code too (the JSON error document meets the closed pipe), and so
    do commands that write outside ``emit`` (``admin trust`` prints the bundle)."""
    fifo = tmp_path / "fifo.pdf"
    os.mkfifo(fifo)
    done = shell(genuine, f'certcli --json verify "{fifo}" | true; echo "bad ${{PIPESTATUS[0]}}"\n'
                          f'certcli verify "{fifo}" 2>&1 | true; echo "bad-human ${{PIPESTATUS[0]}}"\n'
                          f'certcli admin trust >/dev/null; plain=$?\n'
                          f'certcli admin trust | true; echo "trust $plain ${{PIPESTATUS[0]}}"', unbuffered)
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    assert lines["bad"] == lines["bad-human"] == "6", done.stdout + done.stderr
    plain, piped = lines["trust"].split()
    assert plain == piped and piped != str(EXIT_INTERNAL), done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr, done.stderr
