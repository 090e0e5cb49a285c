"""Public oracles (issue 12): what a guess costs.

``member status`` (no login) tells whether an ID number + name has a membership
application, and ``verify --number --name`` (the public 证书查验) whether a
certificate number belongs to a name.  Either confirms a guess, so each guess is
made to cost what a login attempt costs:

* **Work**: one scrypt at the login's parameters (:func:`certcli.accounts.password_work`),
  and the whole query is padded to :data:`GUESS_FLOOR` seconds (:func:`paced`), so a
  hit and a miss take the same time.
* **Limits per key**, kept in the store (table ``guess_limits``) like a login's
  lockout: every miss counts against each key the guess names (a name, an ID
  number, a certificate number).  After ``rules.MAX_MISSED_GUESSES`` misses inside
  ``rules.GUESS_WINDOW`` the key refuses every further guess, hit or miss, for
  ``rules.GUESS_LOCKOUT``, doubled at each new lockout up to ``rules.MAX_GUESS_LOCKOUT``
  (:func:`certcli.rules.after_missed_guess`).  A refusal is ``rate_limited`` (exit 4,
  ``retry_after`` seconds), decided before the records are read: it says nothing
  about the guess.  Hits do not reset the count (a known hit must not buy more misses).
* **Audit**: each miss is an audit entry (``lookup_miss``, ``member_status_miss``)
  with the ID number and name masked; the miss that starts a lockout carries
  ``locked_until``.

Keys are stored as HMAC-SHA256 under a random per-store secret (``meta.guess_key``),
so the table does not keep the ID numbers people guessed.
"""
from __future__ import annotations

import hashlib
import hmac
import math
import os
import time
import unicodedata
from contextlib import contextmanager
from datetime import datetime
from typing import Callable, Iterator, TypeVar

from certcli import accounts, audit, rules
from certcli.errors import RateLimited
from certcli.store import iso, lock_rows, parse_instant

T = TypeVar("T")

# Every guess (hit, miss or refusal) takes at least this long; more than the scrypt
# and the store's work, so the answer's timing does not tell a hit from a miss.
GUESS_FLOOR = 0.25
SECRET_KEY = "guess_key"
# rows idle this long carry no lockout and no strike any more
_FORGET_AFTER = rules.GUESS_MEMORY + rules.MAX_GUESS_LOCKOUT


@contextmanager
def paced(floor: float = GUESS_FLOOR) -> Iterator[None]:
    """Whatever the block does (or raises), it takes at least ``floor`` seconds."""
    started = time.monotonic()
    try:
        yield
    finally:
        left = floor - (time.monotonic() - started)
        if left > 0:
            time.sleep(left)


def _folded(text: str) -> str:
    """Coarser than any query's matching (NFKC, no spaces or format characters, case
    folded): spellings that find the same record share one key."""
    text = unicodedata.normalize("NFKC", text or "")
    return "".join(c for c in text if not c.isspace() and unicodedata.category(c) != "Cf").casefold()


def name_key(name: str) -> str:
    return "name:" + _folded(name)


def number_key(certificate_no: str) -> str:
    return "number:" + _folded(certificate_no)


def id_key(id_type: str, id_number: str) -> str:
    return f"id:{id_type}:" + _folded(id_number)


def _secret(conn) -> bytes:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (SECRET_KEY,)).fetchone()
    if row is None:   # a store migrated without it (should not happen): make one now
        conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT DO NOTHING",
                     (SECRET_KEY, os.urandom(32).hex()))
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (SECRET_KEY,)).fetchone()
    return bytes.fromhex(row[0])


def _load(conn, scope: str, key_hash: str) -> rules.GuessState:
    row = conn.execute("SELECT misses, window_start, locked_until, strikes, last_miss_at FROM guess_limits "
                       "WHERE scope = ? AND key_hash = ?" + lock_rows(conn),   # read, then _save
                       (scope, key_hash)).fetchone()
    if row is None:
        return rules.GuessState()
    return rules.GuessState(row[0], parse_instant(row[1]), parse_instant(row[2]), row[3], parse_instant(row[4]))


def _save(conn, scope: str, key_hash: str, state: rules.GuessState) -> None:
    conn.execute("INSERT INTO guess_limits (scope, key_hash, misses, window_start, locked_until, "
                 "strikes, last_miss_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (scope, key_hash) DO UPDATE SET "
                 "misses = excluded.misses, window_start = excluded.window_start, locked_until = "
                 "excluded.locked_until, strikes = excluded.strikes, last_miss_at = excluded.last_miss_at",
                 (scope, key_hash, state.misses, iso(state.window_start), iso(state.locked_until), state.strikes,
                  iso(state.last_miss_at)))


def guess(store, *, scope: str, keys: tuple[str, ...], now: datetime, query: Callable[[], T],
          hit: Callable[[T], bool], subject: str | None = None, details: dict | None = None) -> T:
    """Run ``query`` as one guess limited on ``keys`` (see the module text): its result,
    or :class:`RateLimited` when a key is locked (then ``query`` is not run).
    ``subject`` and ``details`` go into the miss's audit entry: mask them first."""
    accounts.password_work("\x00".join(keys))
    refused_until = None
    with store.transaction() as conn:
        secret = _secret(conn)
        hashes = [hmac.new(secret, f"{scope}\x00{key}".encode(), hashlib.sha256).hexdigest()[:32] for key in keys]
        states = [_load(conn, scope, key_hash) for key_hash in hashes]
        refused_until = max((u for u in (rules.guess_locked_until(s, now) for s in states) if u), default=None)
        if refused_until is None:
            result = query()
            if not hit(result):
                after = [rules.after_missed_guess(s, now) for s in states]
                for key_hash, state in zip(hashes, after):
                    _save(conn, scope, key_hash, state)
                locked = max((u for u in (rules.guess_locked_until(s, now) for s in after) if u), default=None)
                audit.append(conn, now=now, actor="public", action=f"{scope}_miss", subject=subject,
                             locked_until=iso(locked), **(details or {}))
                conn.execute("DELETE FROM guess_limits WHERE last_miss_at < ?", (iso(now - _FORGET_AFTER),))
    if refused_until is not None:
        raise RateLimited(retry_after=max(1, math.ceil((refused_until - now).total_seconds())))
    return result
