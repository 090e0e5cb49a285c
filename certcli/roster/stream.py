"""A roster as a stream of parsed chunks, read here or by a worker process.

A large import spends about as long parsing and checking rows in Python as
SQLite spends storing them.  With two or more cores a worker process parses
while the importing process writes, so the two costs overlap instead of adding
up (see bench/: a 1M-row import).  Small rosters are read in this process:
starting the worker costs about 0.1 s.

The worker is a ``python`` process running :func:`main`, writing pickled messages
to a pipe.  Pickle is safe here because both ends are this package, run by the same
user.  If the importing process dies, the worker's next write fails and it
exits; if the worker dies, the importer sees the pipe close and stops.
"""
from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import traceback
from dataclasses import dataclass, field
from datetime import date
from importlib import import_module
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

from certcli.roster.parse import Roster, RosterWarning, RowError

CHUNK_ROWS = 5000
PARALLEL_MIN_BYTES = 2**20  # ~7k rows: below this the worker's start-up outweighs the overlap


@dataclass
class Chunk:
    """Consecutive data rows: the clean ones insert-ready, the bad ones as errors."""

    lines: list[int] = field(default_factory=list)
    rows: list[tuple] = field(default_factory=list)  # INSERT_COLUMNS order, imported_at last
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


INSERT_COLUMNS = ("certificate_no", "name", "id_type", "id_number", "qualification", "level", "specialty",
                  "issued_on", "issuer", "seal", "seal_id", "region", "approval_no", "photo", "kind",
                  "birth_date", "mobile", "email", "exam_pass_year", "imported_at")


def local_chunks(roster: Roster, imported_at: str, chunk_rows: int = CHUNK_ROWS) -> Iterator[Chunk]:
    chunk, seals = Chunk(), set()
    for item in roster.rows():
        chunk.records += 1
        if isinstance(item, RowError):
            chunk.errors.append(item)
        else:
            r = item
            if r.seal_id not in seals:
                seals.add(r.seal_id)
                chunk.seals[r.seal_id] = r.issuer
            chunk.lines.append(r.line)
            chunk.rows.append((r.certificate_no, r.name, r.id_type, r.id_number, r.qualification, r.level,
                               r.specialty, r.issued_on.isoformat(), r.issuer, r.seal, r.seal_id, r.region,
                               r.approval_no, r.photo, r.kind, r.birth_date, r.mobile, r.email, r.exam_pass_year,
                               imported_at))
        if chunk.records >= chunk_rows:
            chunk.bytes_read = roster.bytes_read
            chunk.warnings = roster.take_warnings()
            yield chunk
            chunk = Chunk()
    chunk.bytes_read = roster.bytes_read
    chunk.warnings = roster.take_warnings()
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
        self._worker: subprocess.Popen | None = None
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
               "check_text": _name_of(self.check_text), "chunk_rows": self.chunk_rows, "sheet": self.sheet,
               "strict": self.strict}
        # The worker imports this very certcli (not one that happens to sit in the
        # current directory); stderr is dropped: it reports every failure as a message.
        package_root = str(Path(__file__).resolve().parents[2])
        self._worker = subprocess.Popen([sys.executable, "-c", _WORKER_BOOT, package_root, json.dumps(job)],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL)
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
