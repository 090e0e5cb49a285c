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


ISSUER_ROOT_KEY = "issuer_root_key_id"   # meta, in a shared database: the root key of the issuer it belongs to


def root_key_id(keys) -> str:
    from certcli.pki.keys import key_id_of

    return key_id_of(keys.root_certificate().public_key())


def check_shared_store(store, keys, join: bool) -> None:
    """``admin init`` on a database that already holds a store: the home of the issuer that
    made it (same root key) may run it again, as on SQLite; a home without keys needs
    ``--join`` (StoreExists); a home with another issuer's keys is refused even then."""
    if store.created:
        return
    recorded = store.get_meta(ISSUER_ROOT_KEY)
    mine = root_key_id(keys) if keys.exists() else None
    if mine is not None and recorded == mine:
        return
    if mine is not None and recorded is not None:
        from certcli.errors import StoreOfOtherIssuer

        raise StoreOfOtherIssuer(url=store.path, recorded=recorded, mine=mine)
    if not join:
        from certcli.errors import StoreExists

        raise StoreExists(url=store.path)
