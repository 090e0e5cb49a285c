"""The home folder: its layout (the one place that names its files) and how
files are written into it.  Secrets are created 0600 inside 0700 directories
and replaced atomically."""
from __future__ import annotations

import os
from pathlib import Path

STORE_FILENAME = "certcli.db"      # the embedded SQLite store
KEYS_DIRNAME = "keys"              # root and seal keys, encrypted, 0600
SESSION_FILENAME = "session.json"  # the login session token, 0600


def store_file(home: Path) -> Path:
    return Path(home) / STORE_FILENAME


def keys_dir(home: Path) -> Path:
    return Path(home) / KEYS_DIRNAME


def session_file(home: Path) -> Path:
    return Path(home) / SESSION_FILENAME


def has_store(home: Path) -> bool:
    return store_file(home).exists()


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
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_public(path: Path, data: bytes) -> None:
    """Write a document the user asked for: atomically, so a reader never sees half of it."""
    path = Path(path)
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
