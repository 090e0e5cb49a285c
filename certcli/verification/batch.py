"""Batch verification: ``certcli verify PATH...`` over many files and folders (issue 16).

* :func:`collect` turns the arguments into the list of files to check, in input order: a
  file argument as given (whatever its name), a folder recursively (its ``*.pdf``, any case,
  in name order; symbolic links to folders inside it are not followed, so a link loop cannot
  trap the walk).  A folder that cannot be listed is one result, never the end of the batch.
* :func:`run_local` checks them over the cores: a pool of worker processes, each loading the
  trust context (keys or bundle, read-only store) once, fed chunks of paths so that each file
  costs a few hundred bytes of IPC; :func:`run_remote` sends them one by one, a few at a time,
  to ``certcli serve`` (the caller passes the remote verifier: this module imports no HTTP,
  PDF or signing code at import time).
* Each yields ``(index, result)`` as files finish; a result is the verify document of one file
  (exactly what ``verify FILE --json`` prints) with its ``path`` and ``status`` (``valid``,
  ``not_valid``, ``unreadable``, ``error``) in front, or, for a file that could not be read,
  ``{"path", "status", "valid": false, "reason", "verdict", "error": {...}}``: ``reason`` a
  stable code (``file_not_found``, ``permission_denied``, ``symlink_loop``, ``not_a_regular_file``,
  ``unreadable``; never the OS's own text), ``verdict`` the message naming the path, in --lang.

Nothing about one file stops the batch: a junk file is NOT VALID, an unreadable one (missing,
a FIFO, a device, no permission) is ``unreadable``, a bug met on one file is ``error``
(``internal_error``), a worker process that dies on a file is replaced and only that file is
``error``.  What is not about one file (no trust, a bad trust bundle, a damaged store, the
server unreachable) ends the batch with that error, as it ends a single ``verify``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable, Iterable, Iterator, NamedTuple, Optional

from certcli.errors import BadInput, CertcliError, ExitStatus, FileError, InternalError, error_document

SUFFIX = ".pdf"
VALID, NOT_VALID, UNREADABLE, FAILED = "valid", "not_valid", "unreadable", "error"
IN_PROCESS_MAX = 4          # so few files are checked in this process: starting workers costs more
MAX_CHUNK = 32              # paths per task: small IPC, and results stream at least every ~0.5 s
WINDOW_PER_WORKER = 3       # tasks in flight per worker: a folder of a million files is never all queued
REMOTE_CONCURRENCY = 4      # requests in flight to a server


class Item(NamedTuple):
    index: int
    path: str                            # as the user named it, or a folder argument joined with the file
    problem: Optional[CertcliError] = None   # known before reading (a folder that cannot be listed)


@dataclass(frozen=True)
class Settings:
    """What every worker needs to load its trust context and date its verdicts."""

    home: Path
    now: datetime
    lang: str
    trust: Optional[Path] = None
    ledgers: Optional[Path] = None
    max_bundle_age: Optional[timedelta] = None
    clock_overridden: bool = False


class Fatal(NamedTuple):
    """Not about one file (no trust, damaged store, server gone): the batch ends with it."""

    error: BaseException


# --- the inputs ------------------------------------------------------------------------------

def collect(paths: Iterable[Path]) -> list[Item]:
    """The files to check, in input order (see the module's docstring)."""
    found: list[Item] = []

    def add(path: str, problem: Optional[CertcliError] = None) -> None:
        found.append(Item(len(found), path, problem))

    for argument in paths:
        text = os.fspath(argument)
        if os.path.isdir(text):
            _walk(text, add)
        else:
            add(text)             # named explicitly: checked whatever its name (a missing one is unreadable)
    return found


def _walk(folder: str, add: Callable) -> None:
    """Depth first, entries in name order; folders reached through a symbolic link are skipped."""
    try:
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except OSError as error:
        from certcli.verification.context import os_reason

        add(folder, BadInput(field="PATH", value=folder, reason=os_reason(error)))
        return
    for entry in entries:
        try:
            is_folder = entry.is_dir(follow_symlinks=False)
        except OSError:
            is_folder = False
        if is_folder:
            _walk(entry.path, add)
        elif entry.name.lower().endswith(SUFFIX):
            add(entry.path)       # a FIFO, a broken link or a link loop named *.pdf: one unreadable result


def no_files(paths: list[Path]) -> BadInput:
    return BadInput(field="PATH", value=os.fspath(paths[0]) if paths else "", reason="no_pdf_files")


# --- results ---------------------------------------------------------------------------------

def verified(path: str, document: dict) -> dict:
    """One file's verify document, with its path and status in front."""
    return {"path": path, "status": VALID if document.get("valid") is True else NOT_VALID, **document}


def refused(path: str, error: CertcliError, lang: str) -> dict:
    """A file that could not be checked: unreadable (bad input), or a bug met on it."""
    message = error.message(lang)
    reason = error.data.get("reason") if isinstance(error.data.get("reason"), str) else error.code
    return {"path": path, "status": UNREADABLE if error.exit_code == ExitStatus.BAD_INPUT else FAILED,
            "valid": False, "reason": reason, "verdict": message,
            **error_document(error.code, message, error.data)}


@dataclass
class Summary:
    total: int = 0
    valid: int = 0
    not_valid: int = 0
    unreadable: int = 0
    errors: int = 0

    def add(self, result: dict) -> None:
        self.total += 1
        status = result["status"]
        if status == VALID:
            self.valid += 1
        elif status == NOT_VALID:
            self.not_valid += 1
        elif status == UNREADABLE:
            self.unreadable += 1
        else:
            self.errors += 1

    def to_json(self) -> dict:
        return {"total": self.total, "valid": self.valid, "not_valid": self.not_valid,
                "unreadable": self.unreadable, "errors": self.errors, "exit_code": self.exit_code}

    @property
    def exit_code(self) -> int:
        """0 only if every file is valid; 6 if any could not be read (that file was not checked at
        all, so the batch's answer is incomplete), which wins over 1 (some file is NOT valid);
        70 if a file met a bug."""
        if self.errors:
            return int(ExitStatus.INTERNAL)
        if self.unreadable:
            return int(ExitStatus.BAD_INPUT)
        if self.not_valid:
            return int(ExitStatus.NOT_VALID)
        return int(ExitStatus.OK)


def _outcome(path: str, error: BaseException, lang: str):
    """A failure on one file: its result line, or :class:`Fatal` when it is about the whole batch."""
    import sys

    if isinstance(error, CertcliError):
        if error.exit_code in (ExitStatus.BAD_INPUT, ExitStatus.INTERNAL):
            return refused(path, error, lang)
        return Fatal(error)
    sqlite3 = sys.modules.get("sqlite3")      # not loaded (remote mode): no error can be one of its
    if sqlite3 is not None and isinstance(error, sqlite3.Error):   # the store: every file would fail alike
        return Fatal(sqlite3.DatabaseError(str(error)))
    if isinstance(error, OSError):
        from certcli.verification.context import os_reason

        return refused(path, FileError(path=path, reason=os_reason(error)), lang)
    return refused(path, InternalError(kind=type(error).__name__), lang)


def _checked(outcome):
    if isinstance(outcome, Fatal):
        raise outcome.error
    return outcome


# --- local: a pool of worker processes ---------------------------------------------------------

_WORKER: dict = {}      # in a worker: its settings and its trust context, loaded once


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def open_context(settings: Settings):
    """The trust context, checked (no trust: ``key_problem``; a bad bundle: ``bad_trust_bundle``)."""
    from certcli.verification.context import Context

    context = Context.load(settings.home, settings.trust, settings.ledgers, settings.max_bundle_age)
    try:
        context.require_trust()
    except BaseException:
        context.close()
        raise
    return context


def _start_worker(settings: Settings, parent: Optional[int] = None) -> None:
    if parent is not None:      # in a worker process
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is the parent's: it stops the pool and reports
        from certcli.pools import exit_with_parent

        exit_with_parent(parent)
    _WORKER.clear()
    _WORKER["settings"] = settings
    try:
        _WORKER["context"] = open_context(settings)
    except Exception as error:  # noqa: BLE001 - reported with the first file, by the parent
        _WORKER["error"] = error


def _stop_worker() -> None:
    context = _WORKER.pop("context", None)
    if context is not None:
        context.close()
    _WORKER.clear()


def _verify_one(item: Item):
    settings: Settings = _WORKER["settings"]
    if item.problem is not None:
        return _outcome(item.path, item.problem, settings.lang)
    if "error" in _WORKER:
        return Fatal(_WORKER["error"])
    from certcli.verification.context import MAX_PDF_BYTES, read_regular_file
    from certcli.verification.pdf import verify_pdf

    try:
        data = read_regular_file(Path(item.path), "PATH", MAX_PDF_BYTES + 1)
        verdict = verify_pdf(data, _WORKER["context"], settings.now)
        # as certcli.verification.document.verify_document dates it
        verdict.checked_at, verdict.clock_overridden = settings.now, settings.clock_overridden
        return verified(item.path, verdict.to_json(settings.lang))
    except Exception as error:  # noqa: BLE001 - one file's failure is one result
        return _outcome(item.path, error, settings.lang)


def _verify_chunk(chunk: list[Item]) -> list:
    return [(item.index, _verify_one(item)) for item in chunk]


def chunk_size(count: int, workers: int) -> int:
    """About eight tasks per worker, at most ``MAX_CHUNK`` paths each."""
    return max(1, min(MAX_CHUNK, -(-count // (workers * 8))))


def run_local(items: list[Item], settings: Settings, workers: Optional[int] = None) -> Iterator[tuple[int, dict]]:
    """``(index, result)`` as files finish, verified with this machine's trust context."""
    workers = max(1, workers or default_workers())
    context = open_context(settings)      # no trust, a bad bundle, a damaged store: said before any file
    context.close()
    if workers == 1 or len(items) <= IN_PROCESS_MAX or not _can_fork():
        _start_worker(settings)
        try:
            for item in items:
                yield item.index, _checked(_verify_one(item))
        finally:
            _stop_worker()
        return
    import certcli.verification.pdf  # noqa: F401 - imported once here, inherited by the forked workers

    yield from _pooled(items, settings, min(workers, len(items)))


def _can_fork() -> bool:
    """Workers are forked: they start at once, with the modules already imported.  Without fork
    (Windows) the batch runs in this process: a spawned worker would run ``python -m certcli`` again."""
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()


def _pooled(items: list[Item], settings: Settings, workers: int) -> Iterator[tuple[int, dict]]:
    queue = items
    while queue:
        unfinished, suspects = yield from _pool_run(queue, settings, workers, chunk_size(len(queue), workers),
                                                    workers * WINDOW_PER_WORKER)
        if not suspects:
            return
        # a worker died (killed, out of memory): retry the files it might have been on, one at a
        # time in a pool of their own, so that only a file that kills its worker again fails
        for item in suspects:
            _, broke = yield from _pool_run([item], settings, 1, 1, 1)
            if broke:
                yield item.index, refused(item.path, InternalError(kind="worker_died"), settings.lang)
        suspected = {item.index for item in suspects}
        queue = [item for item in unfinished if item.index not in suspected]


def _pool_run(items: list[Item], settings: Settings, workers: int, size: int, window: int):
    """Run ``items`` in one pool; returns ``(unfinished items, items of the tasks a dead worker
    broke)``, the latter empty when the pool ran to the end."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    context = multiprocessing.get_context("fork")     # no thread runs here yet (the progress bar has none)
    chunks = iter([items[i:i + size] for i in range(0, len(items), size)])
    pending: dict = {}
    finished: set[int] = set()
    broken: list[Item] = []
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                               initargs=(settings, os.getpid()))
    try:
        def fill() -> None:
            while len(pending) < window:
                chunk = next(chunks, None)
                if chunk is None:
                    return
                pending[pool.submit(_verify_chunk, chunk)] = chunk

        fill()
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                chunk = pending.pop(future)
                try:
                    results = future.result()
                except BrokenProcessPool:
                    broken += chunk
                    continue
                for index, outcome in results:
                    finished.add(index)
                    yield index, _checked(outcome)
            if broken:
                broken += [item for chunk in pending.values() for item in chunk]
                break
            fill()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    unfinished = [item for item in items if item.index not in finished]
    return unfinished, broken


# --- remote: a few requests at a time ----------------------------------------------------------

def run_remote(items: list[Item], verify: Callable[[Path], dict], lang: str,
               concurrency: int = REMOTE_CONCURRENCY) -> Iterator[tuple[int, dict]]:
    """``(index, result)`` as the server answers; ``verify(path)`` is the remote verifier's
    (it reads the file as ``verify FILE`` does and sends it).  Files go one at a time until the
    server has answered once (an unreachable server ends the batch at once, and the connection
    is open before threads share it), then ``concurrency`` at a time."""
    def one(item: Item):
        if item.problem is not None:
            return _outcome(item.path, item.problem, lang)
        try:
            return verified(item.path, verify(Path(item.path)))
        except Exception as error:  # noqa: BLE001 - one file's failure is one result
            return _outcome(item.path, error, lang)

    rest = iter(items)
    for item in rest:
        outcome = _checked(one(item))
        yield item.index, outcome
        if outcome["status"] in (VALID, NOT_VALID):
            break
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    with ThreadPoolExecutor(max(1, concurrency), thread_name_prefix="certcli-verify") as pool:
        pending: dict = {}
        try:
            while True:
                while len(pending) < max(1, concurrency):
                    item = next(rest, None)
                    if item is None:
                        break
                    pending[pool.submit(one, item)] = item
                if not pending:
                    return
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    item = pending.pop(future)
                    yield item.index, _checked(future.result())
        finally:
            for future in pending:
                future.cancel()
