"""Typed errors about what certcli was given or runs on: input data and files (exit 6), the
store and keys (exit 7), the server in remote mode (exit 8), and bugs (exit 70).  Import
them from :mod:`certcli.errors`, which re-exports them; the machinery is
:mod:`certcli.error_base`."""
from __future__ import annotations

from typing import Any  # noqa: F401 - the annotations of the fields name it

from certcli.error_base import CertcliError, ExitStatus


# --- Bad input data (exit 6) ---------------------------------------------------------------

class InvalidIdNumber(CertcliError):
    code = "invalid_id_number"
    exit_code = ExitStatus.BAD_INPUT
    reason: str
    id_type: str


class BadRoster(CertcliError):
    code = "bad_roster"
    exit_code = ExitStatus.BAD_INPUT
    path: str
    reason: str
    detail: Any = None  # str, or the missing columns


class BadInput(CertcliError):
    """``field`` names the option or argument, ``reason`` is a code with words in the
    catalog (``why.*``) or a short text; ``value`` is what was given (when it can be shown);
    ``known`` the accepted values (for a choice)."""

    code = "bad_input"
    exit_code = ExitStatus.BAD_INPUT
    field: str
    reason: str
    value: Any = None
    known: Any = None


class UnsupportedCharacter(CertcliError):
    code = "unsupported_character"
    exit_code = ExitStatus.BAD_INPUT
    char: str
    codepoint: str
    field: str


class BadPhoto(CertcliError):
    code = "bad_photo"
    exit_code = ExitStatus.BAD_INPUT
    reason: str
    detail: Any = None
    path: Any = None  # the photo file the user named, if it was one


class FileError(CertcliError):
    """A file the user named (``-o``, ``--rejects``, an input file) cannot be read or written.
    Never a store problem: files inside the home are :class:`StoreUnwritable`."""

    code = "file_error"
    exit_code = ExitStatus.BAD_INPUT
    reason: str
    path: Any = None  # None when the system did not say which file


class BadTrustBundle(CertcliError):
    """A trust bundle (``verify --trust``) refused: not signed by its root, edited after
    signing, or not a certcli bundle at all.  ``reason`` is a code with words in the
    catalog (``why.bundle_*``); ``detail`` says where (a line, a key id), when known."""

    code = "bad_trust_bundle"
    exit_code = ExitStatus.BAD_INPUT
    reason: str
    detail: Any = None


class BundleTooLarge(CertcliError):
    """``admin trust`` would write a bundle larger than verifiers accept (1 MiB)."""

    code = "bundle_too_large"
    exit_code = ExitStatus.BAD_INPUT
    size: int
    limit: int
    revoked: int


# --- Store or key problem (exit 7) ---------------------------------------------------------

class StoreCorrupt(CertcliError):
    code = "store_corrupt"
    exit_code = ExitStatus.STORE
    path: str
    reason: str


class StoreMissing(CertcliError):
    code = "store_missing"
    exit_code = ExitStatus.STORE
    path: str


class LookupNeedsStore(CertcliError):
    """``verify --number --name`` where there is no certificate store: the lookup asks the
    issuer's records, which a trust bundle does not hold (``--server``, or the store's home)."""

    code = "lookup_needs_store"
    exit_code = ExitStatus.STORE
    path: str  # the home that has no store


class StoreUnwritable(CertcliError):
    code = "store_unwritable"
    exit_code = ExitStatus.STORE
    path: str
    reason: str


class StoreUnavailable(CertcliError):
    """The PostgreSQL database (``--database-url``) cannot be reached or refused us: server
    down, authentication failed, no such database.  ``url`` has its password masked."""

    code = "store_unavailable"
    exit_code = ExitStatus.STORE
    url: str
    reason: str


class StoreExists(CertcliError):
    """``admin init`` against a database that already holds a certcli store (issue 15):
    ``--join`` uses it from this home instead of creating one."""

    code = "store_exists"
    exit_code = ExitStatus.STORE
    url: str


class MigrationTargetInUse(CertcliError):
    """``admin migrate --to URL``: the database holds another store's data (``what``:
    ``other_store``, its audit chain head ``head`` is not in this store's chain) or was
    written to since this store was copied into it (``changed_since_migration``)."""

    code = "migration_target_in_use"
    exit_code = ExitStatus.STORE
    url: str
    what: str
    head: str


class MigrationCheckFailed(CertcliError):
    """``admin migrate``: the copy does not match the store (``tables`` whose row counts
    differ, comma-separated; ``audit``: ``verified``, or ``broken`` when the chain did not
    verify on the copy or its head differs from the store's)."""

    code = "migration_check_failed"
    exit_code = ExitStatus.STORE
    url: str
    tables: str
    audit: str


class StoreOfOtherIssuer(CertcliError):
    """``admin init`` with a home whose keys are not those of the issuer whose shared
    database this is (its root key id is recorded there): joining would sign under a
    second root."""

    code = "store_other_issuer"
    exit_code = ExitStatus.STORE
    url: str
    recorded: str   # the database's issuer root key id
    mine: str       # this home's


class KeyProblem(CertcliError):
    code = "key_problem"
    exit_code = ExitStatus.STORE
    reason: str
    path: Any = None  # the key file or folder concerned, when there is one


class RootExpired(CertcliError):
    """The issuer root certificate has ended, or ends too soon to certify a seal key that
    may sign (``rules.SIGNING_MARGIN``): ``admin process`` signs nothing."""

    code = "root_expired"
    exit_code = ExitStatus.STORE
    not_after: Any   # datetime: the root certificate's end
    margin_days: int  # how long a seal certificate must still run to sign


# --- The server could not be reached or failed (exit 8, remote mode) ------------------------

class ServerUnreachable(CertcliError):
    """Connection refused, timed out, name not resolved, TLS handshake refused."""

    code = "server_unreachable"
    exit_code = ExitStatus.SERVER
    server: str
    reason: str


class ServerError(CertcliError):
    """The server answered 5xx, or with something that is not a certcli answer."""

    code = "server_error"
    exit_code = ExitStatus.SERVER
    server: str
    status: Any = None  # the HTTP status
    detail: Any = None  # the server's error code, or what was wrong with its answer


class ServeFailed(CertcliError):
    """``certcli serve`` could not start (the address is taken, TLS files unusable, ...):
    the log line before says why."""

    code = "serve_failed"
    exit_code = ExitStatus.SERVER
    address: str


# --- A bug (exit 70) ---------------------------------------------------------------------

class InternalError(CertcliError):
    code = "internal_error"
    exit_code = ExitStatus.INTERNAL
    kind: str  # the exception's type name
