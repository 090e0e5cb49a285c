"""``verify PATH...`` with several files or a folder: batch verification (issue 16).

The work (inputs, the worker pool, the remote requests, results, the exit status) is
:mod:`certcli.verification.batch`; here is only what a person or a script sees:

* human output: one line per file, in input order (path, 有效 / 无效 / 无法读取, a short
  reason), then a summary; a progress bar on stderr when stderr is a terminal;
* ``--json``: one document ``{"results": [...], "summary": {...}}``, results in input order;
* ``--jsonl``: one result per line as each file finishes (flushed line by line), then one
  ``{"summary": {...}}`` line.

Exit 0 only if every file is valid, 1 if any is NOT valid, 6 if any could not be read (it
wins over 1: that file was not checked at all), 70 if a file met a bug.
"""
from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path
from typing import NoReturn, Optional

import typer

from certcli.commands._runtime import _json_default, rt, write_stdout


def run(paths: list[Path], *, jsonl: bool, workers: Optional[int], trust: Optional[Path],
        ledgers: Optional[Path], max_bundle_age) -> NoReturn:
    from certcli.verification import batch

    runtime = rt()
    if jsonl:
        runtime.json = True       # an error that ends the batch is one more JSON line
    items = batch.collect(paths)
    if not items:
        raise batch.no_files(paths)
    summary = batch.Summary()
    with _progress(len(items)) as advance:
        results = _results(items, trust, ledgers, max_bundle_age, workers)
        if jsonl:
            for _, result in results:
                summary.add(result)
                write_stdout(_json(result) + "\n")
                advance()
            write_stdout(_json({"summary": summary.to_json()}) + "\n")
        elif runtime.json:
            collected: list = [None] * len(items)
            for index, result in results:
                summary.add(result)
                collected[index] = result
                advance()
            runtime.emit({"results": collected, "summary": summary.to_json()})
        else:
            _print_in_order(results, summary, len(items), advance)
    raise typer.Exit(summary.exit_code)


def _results(items, trust, ledgers, max_bundle_age, workers):
    from certcli.verification import batch

    runtime = rt()
    if runtime.server and trust is None:     # remote mode; a trust bundle is always checked here
        from certcli.services.factory import verifier

        remote = verifier(runtime)
        return batch.run_remote(items, lambda path: remote.verify(pdf=path), runtime.lang,
                                workers or batch.REMOTE_CONCURRENCY)
    from certcli import clock

    settings = batch.Settings(runtime.home, runtime.now, runtime.lang, trust, ledgers, max_bundle_age,
                              clock.overridden())
    return batch.run_local(items, settings, workers)


def _json(document: dict) -> str:
    return json.dumps(document, ensure_ascii=False, default=_json_default)


@contextlib.contextmanager
def _progress(total: int):
    """``advance()`` for each finished file: a bar on stderr when it is a terminal, else nothing.
    Redrawn by hand at most ten times a second (no refresh thread: workers are forked)."""
    if not _is_terminal(sys.stderr):
        yield lambda: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from certcli.commands._runtime import pipe_safe_console

    progress = Progress("{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                        console=pipe_safe_console(stderr=True), auto_refresh=False, transient=True,
                        redirect_stdout=_is_terminal(sys.stdout), redirect_stderr=False)
    task = progress.add_task(rt().t("batch.progress"), total=total)
    shown = [0.0]

    def advance() -> None:
        progress.advance(task)
        now = time.monotonic()
        if now - shown[0] >= 0.1:
            shown[0] = now
            progress.refresh()

    with progress:
        progress.refresh()
        yield advance


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _print_in_order(results, summary, total: int, advance) -> None:
    """Each file's line as soon as every file before it is done."""
    runtime = rt()
    waiting: dict = {}
    following = 0
    first: Optional[dict] = None
    for index, result in results:
        summary.add(result)
        advance()
        waiting[index] = result
        while following in waiting:
            shown = waiting.pop(following)
            first = first or (shown if "checks" in shown else None)
            runtime.console.print(_line(shown), soft_wrap=True)
            following += 1
    for note, style in _notes(first):
        runtime.console.print(note, style=style, markup=False)
    words = runtime.t("batch.summary", total=summary.total, valid=summary.valid, not_valid=summary.not_valid,
                      unreadable=summary.unreadable)
    if summary.errors:
        words += runtime.t("batch.summary_errors", errors=summary.errors)
    colour = "green" if summary.exit_code == 0 else "red"
    runtime.console.print(words, style=f"bold {colour}", markup=False)


STYLES = {"valid": "green", "not_valid": "red", "unreadable": "yellow", "error": "red"}


def _line(result: dict):
    from rich.text import Text

    runtime = rt()
    status = result["status"]
    return Text.assemble(result["path"], "  ", (runtime.t(f"batch.{status}"), f"bold {STYLES[status]}"),
                         "  ", _reason(result))


def _reason(result: dict) -> str:
    """A few words: the certificate and its annotation's last day when valid, else why not."""
    from certcli import i18n

    runtime = rt()
    lang = runtime.lang
    if result["status"] == "valid":
        facts = result.get("facts") or {}
        instant = i18n.as_instant(facts.get("valid_until"))
        if instant is not None:
            from certcli import rules

            window = runtime.t("batch.valid_until", until=i18n.format_day(rules.valid_through(instant), lang,
                                                                          zone=True))
        else:
            window = runtime.t("batch.no_annotation")
        number = facts.get("certificate_no")
        return runtime.t("batch.valid_line", number=number, window=window) if number else window
    reason = str(result.get("reason"))
    if result["status"] == "not_valid":
        return i18n.words(f"reason.{reason}", lang, reason)
    if result["status"] == "unreadable":       # the path is on the line already: only why
        return i18n.words(f"why.{reason}", lang, reason)
    return str(result.get("verdict") or "")


def _notes(document: Optional[dict]) -> list[tuple[str, str]]:
    """What single-file output says under the verdict and holds for the whole batch: a moved
    clock, the trust bundle's date and its warnings."""
    if document is None:
        return []
    from datetime import datetime

    from certcli.verification.context import Verdict, document_notes

    lang = rt().lang
    checked_at = document.get("checked_at")
    if isinstance(checked_at, str):
        checked_at = datetime.fromisoformat(checked_at)
    note = Verdict(document.get("kind", "pdf"), checked_at=checked_at,
                   clock_overridden=bool(document.get("clock_overridden"))).clock_note(lang)
    notes = [(note, "bold yellow")] if note else []
    return notes + [(line, "yellow") for line in document_notes(document, lang)]
