"""What administrator commands share: the home's keys, the passphrase check, a
progress bar, day options.  Kept apart from ``commands.admin`` so the admin
sub-groups (member, paper, seals, audit) import it without a cycle."""
from __future__ import annotations

import sys
from typing import Optional

from certcli.commands._runtime import read_secret, rt
from certcli.home import keys_dir


def keys_of(runtime):
    """One IssuerKeys per command: it caches the stretched passphrase (scrypt, ~100 ms),
    so unlock() and the key operation after it pay for the stretch once."""
    if "keys" not in runtime.extra:
        from certcli.pki.keys import IssuerKeys

        runtime.extra["keys"] = IssuerKeys(keys_dir(runtime.home))
    return runtime.extra["keys"]


def unlock(runtime, from_stdin: bool) -> bytes:
    """The key passphrase, checked against the root key before anything changes."""
    passphrase = read_secret("passphrase", from_stdin=from_stdin).encode()
    keys_of(runtime).check_passphrase(passphrase)
    return passphrase


def progress_bar(label: str):
    """A rich progress bar on a terminal; nothing in JSON mode or when piped."""
    runtime = rt()
    if runtime.json or not sys.stderr.isatty():
        return None, None
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TimeRemainingColumn

    bar = Progress("[progress.description]{task.description}", BarColumn(), TaskProgressColumn(),
                   TimeRemainingColumn(), console=Console(stderr=True), transient=True)
    task = bar.add_task(label, total=None)
    return bar, lambda done, total: bar.update(task, completed=done, total=total)


def seal_json(seal) -> dict:
    return {"seal_id": seal.seal_id, "name": seal.name, "key_id": seal.key_id, "status": seal.status,
            "not_before": seal.not_before, "not_after": seal.not_after, "rotated_at": seal.rotated_at,
            "retired_at": seal.retired_at}


def parse_day_option(text: Optional[str], option: str):
    if text is None:
        return None
    from certcli.errors import BadInput
    from certcli.roster.parse import parse_day

    try:
        return parse_day(text)
    except ValueError:
        raise BadInput(field=option, value=text[:20], reason="format") from None
