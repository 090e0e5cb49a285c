"""The PostgreSQL side of the store (issue 15): a small adapter that gives a psycopg 3
connection the slice of the ``sqlite3`` API certcli's SQL code uses, so one body of SQL
runs on both backends.

* ``execute(sql, params)`` takes SQLite's ``?`` placeholders and rewrites them to psycopg's
  ``%s`` (a literal ``%`` becomes ``%%``; ``?`` inside quotes is left alone), once per SQL
  text (cached).  ``executemany`` likewise.
* Cursors answer ``fetchone``/``fetchall``/iteration/``rowcount``/``description`` as
  sqlite3's do: a statement without a result set fetches ``None`` / ``[]`` instead of
  raising; ``BYTEA`` comes back as ``bytes``, a ``numeric`` (PostgreSQL's ``SUM`` over
  integers) as ``int`` (or ``float`` when it has a fraction), and a boolean (a comparison
  selected as a column) as 0/1, as SQLite returns them.
* Python booleans are sent as 0/1: the schema keeps SQLite's integer flags.
* ``execute`` fetches the whole result set (psycopg's client-side cursor), as most queries
  want.  ``stream(sql, params)`` is for a result of any size that is iterated (an export, the
  audit chain, a key's ledger): a server-side cursor fetches :data:`STREAM_ROWS` rows at a
  time, so memory stays bounded whatever the row count (:class:`Stream`).
* The connection is in autocommit mode, like certcli's sqlite3 connections: every write
  runs inside :meth:`certcli.store.Store.transaction`, which issues ``BEGIN``/``COMMIT``.

This module imports psycopg and is imported only when a database URL is in use, so the
SQLite default never pays for it.  It never prints or raises a URL with its password
(:func:`masked`).
"""
from __future__ import annotations

import itertools
import os
import re
import weakref
from decimal import Decimal
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import pq

from certcli.errors import CertcliError, InternalError, StoreCorrupt, StoreUnavailable, StoreUnwritable

IntegrityError = psycopg.IntegrityError
Error = psycopg.Error
OperationalError = psycopg.OperationalError

# SQL text (with ?) -> psycopg text (with %s); the statements are a fixed set, so this stays small
_REWRITTEN: dict[str, str] = {}


def rewrite(sql: str) -> str:
    """``?`` placeholders to ``%s`` and ``%`` to ``%%``, outside quoted literals and identifiers."""
    cached = _REWRITTEN.get(sql)
    if cached is not None:
        return cached
    out, quote = [], None
    for char in sql:
        if quote is not None:
            if char == quote:
                quote = None
            out.append("%%" if char == "%" else char)
        elif char in ("'", '"'):
            quote = char
            out.append(char)
        elif char == "?":
            out.append("%s")
        elif char == "%":
            out.append("%%")
        else:
            out.append(char)
    text = "".join(out)
    if len(_REWRITTEN) < 4096:
        _REWRITTEN[sql] = text
    return text


def _param(value):
    return int(value) if isinstance(value, bool) else value


def _params(params) -> tuple:
    return tuple(_param(value) for value in params) if params else ()


def _value(value):
    if isinstance(value, bool):              # a comparison selected as a column: SQLite says 0/1
        return int(value)
    if isinstance(value, memoryview):
        return value.tobytes()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _row(row):
    if row is None:
        return None
    if any(isinstance(v, (memoryview, Decimal, bool)) for v in row):
        return tuple(_value(v) for v in row)
    return row


class Cursor:
    """A psycopg cursor seen through sqlite3's eyes."""

    def __init__(self, cursor: psycopg.Cursor):
        self._cursor = cursor

    @property
    def description(self):
        description = self._cursor.description
        return None if description is None else [(column.name,) + (None,) * 6 for column in description]

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    def fetchone(self):
        if self._cursor.description is None:
            return None
        return _row(self._cursor.fetchone())

    def fetchall(self) -> list:
        if self._cursor.description is None:
            return []
        return [_row(row) for row in self._cursor.fetchall()]

    def fetchmany(self, size: int = 1) -> list:
        if self._cursor.description is None:
            return []
        return [_row(row) for row in self._cursor.fetchmany(size)]

    def __iter__(self):
        if self._cursor.description is None:
            return
        for row in self._cursor:
            yield _row(row)

    def close(self) -> None:
        self._cursor.close()


STREAM_ROWS = 1000    # rows per FETCH of a streamed result: a few hundred KiB of Python objects
_STREAM_NAMES = itertools.count(1)


class Stream:
    """A SELECT's rows through a server-side cursor (``DECLARE`` … ``FETCH`` ``size`` rows at a
    time): what :meth:`Connection.stream` returns, read like a sqlite3 cursor (iteration,
    ``description``, ``fetchone``/``fetchmany``/``fetchall``).  A server-side cursor lives in a
    transaction: inside the caller's, or else a READ ONLY one of its own, ended (and the
    cursor closed) when the iteration ends, is abandoned, or :meth:`close` is called.  Until
    then this connection runs no write transaction of its own (a write would fail: read only)."""

    def __init__(self, conn: "Connection", sql: str, params, size: int):
        self._conn = conn
        self._own = not conn.in_transaction      # no transaction to live in: one of its own
        self._cursor = None
        try:
            if self._own:
                conn.raw.execute("BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY")
            self._cursor = conn.raw.cursor(name=f"certcli_stream_{next(_STREAM_NAMES)}")
            self._cursor.itersize = max(1, int(size))
            self._cursor.execute(rewrite(sql), _params(params))
        except OperationalError as error:
            self.close()
            raise unavailable(error, conn.where) from None
        except BaseException:
            self.close()
            raise

    @property
    def description(self):
        description = self._cursor.description if self._cursor is not None else None
        return None if description is None else [(column.name,) + (None,) * 6 for column in description]

    def _fetch(self, fetch):
        try:
            return fetch()
        except OperationalError as error:
            self.close()
            raise unavailable(error, self._conn.where) from None
        except BaseException:
            self.close()
            raise

    def fetchone(self):
        return None if self._cursor is None else _row(self._fetch(self._cursor.fetchone))

    def fetchmany(self, size: int = STREAM_ROWS) -> list:
        if self._cursor is None:
            return []
        rows = self._fetch(lambda: self._cursor.fetchmany(size))
        if not rows:
            self.close()
        return [_row(row) for row in rows]

    def fetchall(self) -> list:
        rows = []
        while batch := self.fetchmany(self._cursor.itersize if self._cursor is not None else STREAM_ROWS):
            rows.extend(batch)
        return rows

    def __iter__(self):
        try:
            while batch := self.fetchmany(self._cursor.itersize if self._cursor is not None else STREAM_ROWS):
                yield from batch
        finally:
            self.close()   # exhausted, or the loop left early (break, return, an error)

    def close(self) -> None:
        """Close the cursor and end the transaction it opened (idempotent, never raises)."""
        cursor, self._cursor = self._cursor, None
        if self._conn.forked:     # the parent's session: not ours to talk to
            return
        if cursor is not None:
            try:
                cursor.close()    # psycopg sends CLOSE only where the transaction still lives
            except Error:
                pass
        if self._own:
            self._own = False
            try:
                if self._conn.in_transaction and not self._conn.broken:
                    self._conn.raw.execute("ROLLBACK")   # read only: nothing to commit
            except Error:
                pass

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


_OPEN: "weakref.WeakSet[Connection]" = weakref.WeakSet()


def _forget_in_child() -> None:
    """After ``fork`` (``admin process`` forks its signing workers while its store is open):
    the child closes its copy of every open connection's socket, without a word to the
    server.  Otherwise a worker that outlives a killed parent keeps the parent's session,
    and any transaction and row locks it held, alive on the server."""
    for conn in list(_OPEN):
        conn.forked = True
        try:
            os.close(conn.raw.pgconn.socket)
        except (OSError, psycopg.Error, AttributeError):
            pass


os.register_at_fork(after_in_child=_forget_in_child)


class Connection:
    """A psycopg connection (``raw``, autocommit) with sqlite3's ``execute`` API."""

    dialect = "postgres"

    def __init__(self, raw: psycopg.Connection, where: str):
        self.raw = raw
        self.where = where   # the masked URL, for messages
        self.forked = False  # True in a forked child: the session is the parent's, not ours to end
        _OPEN.add(self)

    def execute(self, sql: str, params=()) -> Cursor:
        cursor = self.raw.cursor()
        try:
            cursor.execute(rewrite(sql), _params(params))
        except OperationalError as error:
            raise unavailable(error, self.where) from None
        return Cursor(cursor)

    def stream(self, sql: str, params=(), size: int = STREAM_ROWS) -> Stream:
        """A SELECT whose rows are fetched ``size`` at a time as they are iterated (see :class:`Stream`)."""
        return Stream(self, sql, params, size)

    def executemany(self, sql: str, rows) -> Cursor:
        cursor = self.raw.cursor()
        try:
            cursor.executemany(rewrite(sql), [_params(row) for row in rows])
        except OperationalError as error:
            raise unavailable(error, self.where) from None
        return Cursor(cursor)

    def begin(self, lock_key: int | None) -> None:
        """``BEGIN`` (READ COMMITTED, whatever the server's default: see certcli.store) and,
        with ``lock_key``, wait for that transaction-scoped advisory lock: one round trip."""
        sql = "BEGIN ISOLATION LEVEL READ COMMITTED"
        if lock_key is not None:
            sql += f"; SELECT pg_advisory_xact_lock({int(lock_key)})"
        try:
            self.raw.execute(sql)        # no parameters: the simple protocol, both statements at once
        except OperationalError as error:
            raise unavailable(error, self.where) from None

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != pq.TransactionStatus.IDLE

    @property
    def broken(self) -> bool:
        return self.raw.broken or self.raw.closed

    def close(self) -> None:
        if not self.forked:
            self.raw.close()


_KEYWORD_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]+)", re.IGNORECASE)


def masked(url: str) -> str:
    """The URL (or libpq keyword string) with its password replaced by ``***``, wherever it is
    given (``user:password@``, ``?password=``, ``password=``): for every message and log line."""
    try:
        parts, text = urlsplit(url), url
        if parts.scheme and parts.password is not None:
            host = parts.netloc.rpartition("@")[2]
            text = urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))
    except ValueError:
        return "(database URL)"
    return _KEYWORD_PASSWORD.sub(lambda m: m.group(1) + "***", text)


def _passwords(url: str) -> list[str]:
    found = [m.group(2).strip("'") for m in _KEYWORD_PASSWORD.finditer(url)]
    try:
        if urlsplit(url).password:
            found.append(urlsplit(url).password)
    except ValueError:
        pass
    return [p for p in found if p]


def unavailable(error: Exception, where: str, url: str | None = None) -> StoreUnavailable:
    """A psycopg connection error as the store's typed error; the password never in it."""
    reason = " ".join(str(error).split()).rstrip(".") or type(error).__name__
    for secret in _passwords(url) if url else ():
        reason = reason.replace(secret, "***")
    return StoreUnavailable(url=where, reason=reason[:500])


def translate(error: Exception, where: str) -> CertcliError:
    """A psycopg error that reached the boundary, as one of SPEC §4's store errors."""
    reason = " ".join(str(error).split())[:300] or type(error).__name__
    if isinstance(error, OperationalError):                        # connection lost, server shutting down
        return unavailable(error, where)
    if isinstance(error, psycopg.errors.InsufficientPrivilege):   # a role that may read but not write
        return StoreUnwritable(path=where, reason=reason)
    if isinstance(error, (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn,
                          psycopg.errors.DataCorrupted, psycopg.errors.IndexCorrupted)):
        return StoreCorrupt(path=where, reason=reason)
    return InternalError(kind=type(error).__name__)                # our SQL is wrong: a bug (exit 70)


def connect(url: str) -> Connection:
    """Open ``url`` (``postgresql://user:password@host:port/database`` or a libpq keyword string)."""
    where = masked(url)
    try:
        raw = psycopg.connect(url, autocommit=True, connect_timeout=10,
                              application_name="certcli")
    except (psycopg.Error, ValueError) as error:   # server down, auth failed, no such database, bad URL
        raise unavailable(error, where, url) from None
    return Connection(raw, where)
