"""A roster as a stream of parsed chunks, read here or by a worker process.

A large import spends about as long parsing and checking rows in Python as
SQLite spends storing them.  With two or more cores a worker process parses
while the importing process writes, so the two costs overlap instead of adding
up (see bench/).  Small rosters are read in this process.

The worker writes pickled messages to a pipe.  Where it can, it is a fork of the
importing process (:class:`_Forked`): it starts in about a millisecond, with certcli
already imported, where a fresh ``python`` running :func:`main` takes ~0.1 s of start-up
and imports, which a 20k-row import never won back (bench/import_bench.py).  The fresh
interpreter remains for platforms without fork, and for a process with other threads
running (a fork copies locks they may hold).  Pickle is safe here because both ends
are this package, run by the same user.  If the importing process dies, the worker's
next write fails and it exits; if the worker dies, the importer sees the pipe close
and stops.
"""
from __future__ import annotations

import gc
import json
import os
import pickle
import signal
import subprocess
import sys
import threading
import traceback
from dataclasses import dataclass, field
from datetime import date
from importlib import import_module
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

from certcli.roster.parse import MEMBER_COLUMNS, STORED_COLUMNS, Roster, RosterWarning, RowError

CHUNK_ROWS = 5000
# The worker sends smaller chunks (the importer still stores CHUNK_ROWS per batch): the
# importer starts storing once the first 1,000 rows are parsed, not 5,000.
WORKER_CHUNK_ROWS = 1000
PIPE_BYTES = 2**20  # the most an unprivileged process may ask for (Linux's fs.pipe-max-size)
# ~7k rows: below this, waiting for the worker's first chunk (its first name check loads the
# font's coverage) and storing its last batch after it outweigh the overlap
PARALLEL_MIN_BYTES = 2**20


@dataclass
class Chunk:
    """Consecutive data rows: the clean ones insert-ready, the bad ones as errors."""

    lines: list[int] = field(default_factory=list)
    rows: list[tuple] = field(default_factory=list)  # as stored: parse.STORED_COLUMNS (+ MEMBER_COLUMNS)
    errors: list[RowError] = field(default_factory=list)
    seals: dict[str, str] = field(default_factory=dict)  # seal_id -> issuer, first seen in this chunk
    records: int = 0  # data rows read: len(rows) + len(errors)
    bytes_read: int = 0
    warnings: list[RosterWarning] = field(default_factory=list)  # found since the chunk before (the header's first)


@dataclass(frozen=True)
class Header:
    encoding: str
    format: str
    size: int
    sheet: str | None = None  # the worksheet read, for a workbook

    @classmethod
    def of(cls, roster: Roster) -> Header:
        return cls(roster.encoding, roster.format, roster.size, roster.sheet_name)


# Every column a row may fill; a plain qualification certificate's row stops before MEMBER_COLUMNS.
INSERT_COLUMNS = STORED_COLUMNS + MEMBER_COLUMNS
_SEAL_ID, _ISSUER = STORED_COLUMNS.index("seal_id"), STORED_COLUMNS.index("issuer")


def local_chunks(roster: Roster, imported_at: str, chunk_rows: int = CHUNK_ROWS) -> Iterator[Chunk]:
    chunk, seals, records = Chunk(), set(), 0
    for line, row in roster.checked(imported_at):
        records += 1
        if isinstance(row, RowError):
            chunk.errors.append(row)
        else:
            if row[_SEAL_ID] not in seals:
                seals.add(row[_SEAL_ID])
                chunk.seals[row[_SEAL_ID]] = row[_ISSUER]
            chunk.lines.append(line)
            chunk.rows.append(row)
        if records >= chunk_rows:
            chunk.records, chunk.bytes_read, chunk.warnings = records, roster.bytes_read, roster.take_warnings()
            yield chunk
            chunk, records = Chunk(), 0
    chunk.records, chunk.bytes_read, chunk.warnings = records, roster.bytes_read, roster.take_warnings()
    yield chunk


class ParsedRoster:
    """``with ParsedRoster(...) as roster``: ``roster.header``, then iterate ``roster.chunks()`` once."""

    def __init__(self, path: Path, *, today: date, imported_at: str,
                 check_text: Callable[[str, str], None] | None = None, parallel: bool | None = None,
                 chunk_rows: int = CHUNK_ROWS, sheet: str | None = None, strict: bool = False):
        self.path, self.today, self.imported_at, self.check_text = Path(path), today, imported_at, check_text
        self.chunk_rows, self.sheet, self.strict = chunk_rows, sheet, strict
        self.parallel = self._want_worker() if parallel is None else parallel and _importable(check_text)
        self._roster: Roster | None = None
        self._worker: subprocess.Popen | _Forked | None = None
        self.header: Header | None = None

    def _want_worker(self) -> bool:
        try:
            big = self.path.stat().st_size >= PARALLEL_MIN_BYTES
        except OSError:
            return False  # Roster reports the unreadable file
        return big and (os.cpu_count() or 1) > 1 and _importable(self.check_text)

    def __enter__(self) -> ParsedRoster:
        if self.parallel:
            try:
                self._start_worker()
            except OSError:               # no process to be had (limits): parse here instead
                self.__exit__()
                self._worker, self.parallel = None, False
            except BaseException:
                self.__exit__()
                raise
        if not self.parallel:
            self._roster = Roster(self.path, today=self.today, check_text=self.check_text, sheet=self.sheet,
                                  strict=self.strict)
            self.header = Header.of(self._roster)
        return self

    def __exit__(self, *exc) -> None:
        if self._roster is not None:
            self._roster.close()
        if self._worker is not None:
            if self._worker.poll() is None:
                self._worker.kill()
            self._worker.stdout.close()
            self._worker.wait()

    def chunks(self) -> Iterator[Chunk]:
        if self._roster is not None:
            yield from local_chunks(self._roster, self.imported_at, self.chunk_rows)
            return
        while (message := self._receive()) is not None:
            yield message

    def _start_worker(self) -> None:
        job = {"path": str(self.path), "today": self.today.isoformat(), "imported_at": self.imported_at,
               "check_text": _name_of(self.check_text), "chunk_rows": min(self.chunk_rows, WORKER_CHUNK_ROWS),
               "sheet": self.sheet, "strict": self.strict}
        if _can_fork():
            self._worker = _Forked(job)
        else:
            # The worker imports this very certcli (not one that happens to sit in the
            # current directory); stderr is dropped: it reports every failure as a message.
            package_root = str(Path(__file__).resolve().parents[2])
            self._worker = subprocess.Popen([sys.executable, "-c", _WORKER_BOOT, package_root, json.dumps(job)],
                                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                            stderr=subprocess.DEVNULL)
        _widen(self._worker.stdout.fileno())
        self.header = self._receive()

    def _receive(self):
        try:
            kind, payload = pickle.load(self._worker.stdout)
        except (EOFError, pickle.UnpicklingError):
            code = self._worker.wait()
            raise RuntimeError(f"roster worker ended unexpectedly (exit {code})") from None
        if kind == "error":
            raise payload
        if kind == "crash":
            raise RuntimeError(f"roster worker failed: {payload}")
        return payload  # a Header, a Chunk, or None at the end


_WORKER_BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from certcli.roster.stream import main; main()"


def _can_fork() -> bool:
    # A thread of this process (a progress bar's, a server's) may hold a lock at the
    # moment of the fork, which the worker's copy would then wait for forever.
    return hasattr(os, "fork") and threading.active_count() == 1


class _Forked:
    """The worker as a fork of this process, with the part of Popen's interface used here."""

    def __init__(self, job: dict):
        read, write = os.pipe()
        # Frozen, the importer's objects are never collected in the worker, so no finalizer
        # of theirs (a file's flush, a connection's close) runs a second time there.
        gc.freeze()
        try:
            pid = os.fork()
        except BaseException:
            gc.unfreeze()
            os.close(read)
            os.close(write)
            raise
        if pid == 0:
            _forked_main(job, read, write)  # never returns
        gc.unfreeze()
        self.pid = pid
        os.close(write)
        self.stdout, self.returncode = os.fdopen(read, "rb"), None

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def kill(self) -> None:
        if self.returncode is None:  # not reaped yet, so the pid is still this worker's
            os.kill(self.pid, signal.SIGKILL)

    def wait(self) -> int:
        if self.returncode is None:
            self.returncode = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        return self.returncode


def _widen(pipe: int) -> None:
    """Let the worker run a whole batch ahead: while the importer stores a batch (~5,000
    rows) it reads nothing, and a pipe's default 64 KiB holds only ~400 rows, so the worker
    would wait instead of parsing.  Linux only; elsewhere the overlap is smaller."""
    try:
        import fcntl

        fcntl.fcntl(pipe, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (ImportError, AttributeError, OSError):  # no such call here, or above the system's limit
        pass


def _forked_main(job: dict, read: int, write: int) -> None:
    """The forked worker: parse, send, and leave with os._exit, so that nothing of the
    importer it is a copy of (its open store, its atexit handlers, its stdout buffer)
    is closed, run or flushed a second time."""
    code = 1
    try:
        os.close(read)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):  # as the fresh worker's: nothing it prints reaches the importer's output
            os.dup2(null, fd)
        with os.fdopen(write, "wb") as out:
            _work(job, out)
        code = 0
    except BaseException:  # noqa: BLE001 - the importer is gone (broken pipe) or interrupted
        pass
    finally:
        os._exit(code)


def _name_of(function) -> str | None:
    return None if function is None else f"{function.__module__}:{function.__qualname__}"


def _importable(function) -> bool:
    """The worker can apply only a check it can import by name."""
    if function is None:
        return True
    module, _, qualname = _name_of(function).partition(":")
    return "<" not in qualname and getattr(sys.modules.get(module), qualname, None) is function


def _load(name: str | None):
    if name is None:
        return None
    module, _, qualname = name.partition(":")
    return getattr(import_module(module), qualname)


def _work(job: dict, out: BinaryIO) -> None:
    def send(kind: str, payload) -> None:
        pickle.dump((kind, payload), out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()

    try:
        with Roster(Path(job["path"]), today=date.fromisoformat(job["today"]),
                    check_text=_load(job["check_text"]), sheet=job.get("sheet"),
                    strict=job.get("strict", False)) as roster:
            send("header", Header.of(roster))
            for chunk in local_chunks(roster, job["imported_at"], job["chunk_rows"]):
                send("chunk", chunk)
        send("end", None)
    except BrokenPipeError:
        raise
    except Exception as error:  # noqa: BLE001 - every failure goes back to the importer
        try:
            send("error", error)
        except (pickle.PicklingError, TypeError, AttributeError):
            send("crash", "".join(traceback.format_exception_only(type(error), error)).strip())


def main() -> None:
    # Our messages own the pipe; anything a library prints goes to stderr instead.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    try:
        _work(json.loads(sys.argv[-1]), out)
        out.close()
    except (BrokenPipeError, KeyboardInterrupt):
        os._exit(1)  # the importer is gone or interrupted; nobody is listening


if __name__ == "__main__":
    # run the imported module, not __main__: pickled Chunks must name certcli.roster.stream
    from certcli.roster.stream import main as worker_main

    worker_main()
