"""The home folder: its layout (the one place that names its files) and how
files are written into it.  Secrets are created 0600 inside 0700 directories
and replaced atomically.

Every writer here names its file when the system fails: an ``OSError`` from
writing a file in the home carries that file's path (so the CLI reports it as
the store's), and one from a file the user named (``download -o``, ``export -o``,
``--rejects``, ...) becomes :class:`~certcli.errors.FileError` with the path
the user gave, never a store problem."""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

STORE_FILENAME = "certcli.db"      # the embedded SQLite store
KEYS_DIRNAME = "keys"              # root and seal keys, encrypted, 0600
SESSION_FILENAME = "session.json"  # the login session token, 0600
TRUST_FILENAME = "trust.pem"       # the latest signed trust bundle (`admin trust`), its ledgers beside it


def store_file(home: Path) -> Path:
    return Path(home) / STORE_FILENAME


def keys_dir(home: Path) -> Path:
    return Path(home) / KEYS_DIRNAME


def session_file(home: Path) -> Path:
    return Path(home) / SESSION_FILENAME


def trust_file(home: Path) -> Path:
    """The latest trust bundle ``admin trust`` signed, kept for ``certcli serve`` (which never
    holds the passphrase) to publish; its closed keys' ledgers are in ``trust.ledgers/`` beside it."""
    return Path(home) / TRUST_FILENAME


DATABASE_URL_ENV = "CERTCLI_DATABASE_URL"
_database_url: str | None = None   # this process's --database-url (use_database_url)


def use_database_url(url: str | None) -> None:
    """The CLI's ``--database-url``: the store every command of this process opens."""
    global _database_url
    _database_url = url or None


def database_url(explicit: str | None = None) -> str | None:
    """Where the store is, when it is not the home's SQLite file: ``explicit`` if given
    (``""`` forces the home's file), else this process's ``--database-url``, else
    ``CERTCLI_DATABASE_URL``; None means the home's SQLite file."""
    url = explicit if explicit is not None else (_database_url or os.environ.get(DATABASE_URL_ENV))
    return (url.strip() or None) if url else None


def has_store(home: Path) -> bool:
    """A store to open: the database named by a URL, or the home's SQLite file."""
    return database_url() is not None or store_file(home).exists()


def ensure_private_dir(path: Path) -> Path:
    path = Path(path)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` so that no reader ever sees a partial file or a wider mode."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        tmp.unlink(missing_ok=True)
        if isinstance(error, OSError) and error.filename is None:
            error.filename = str(path)  # a failed write or fsync does not say which file
        raise


def write_public(path: Path, data: bytes) -> None:
    """Write a document the user asked for: atomically, so a reader never sees half of it.
    Raises :class:`~certcli.errors.FileError` naming ``path`` if it cannot be written."""
    path = Path(path)
    with user_file(path):
        if path.is_dir():
            raise IsADirectoryError(21, "Is a directory", str(path))
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise


@contextmanager
def user_file(path):
    """Around reading or writing a file the user named: an ``OSError`` becomes
    :class:`~certcli.errors.FileError` with that path and the system's reason."""
    try:
        yield
    except OSError as error:
        from certcli.errors import FileError

        raise FileError(path=os.fsdecode(path), reason=error.strerror or type(error).__name__) from error


def open_user_file(path, mode: str = "w", **kwargs):
    """``open()`` for an output file the user named (``-o``, ``--rejects``): opening, writing
    and closing it raise :class:`~certcli.errors.FileError` naming ``path``."""
    with user_file(path):
        return _UserFile(path, open(path, mode, **kwargs))


class _UserFile:
    """A file object whose write, flush and close failures name the user's file (a full
    disk on write() says nothing about which file it was)."""

    def __init__(self, path, handle):
        self.path, self._handle = path, handle

    def write(self, data):
        with user_file(self.path):
            return self._handle.write(data)

    def writelines(self, lines):
        with user_file(self.path):
            return self._handle.writelines(lines)

    def flush(self):
        with user_file(self.path):
            self._handle.flush()

    def close(self):
        with user_file(self.path):
            self._handle.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __getattr__(self, name):
        return getattr(self._handle, name)
