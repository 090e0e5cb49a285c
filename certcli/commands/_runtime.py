"""What every command shares: global options, output, secrets, and the one
error boundary that turns library exceptions into a message and an exit code."""
import functools
import json
import os
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, NoReturn

import typer

from certcli import clock, i18n
from certcli.errors import (BadInput, CertcliError, ExitStatus, FileError, InternalError, PassphraseRequired,
                            PasswordRequired, StoreUnwritable)

EXIT_INTERNAL = ExitStatus.INTERNAL  # a bug: one line, no traceback unless CERTCLI_DEBUG=1 or --traceback


@dataclass
class Runtime:
    home: Path
    json: bool = False
    lang: str = "en"
    traceback: bool = False  # --traceback: internal errors (exit 70) print their traceback on stderr
    server: str | None = None  # --server URL / CERTCLI_SERVER: remote mode (SPEC §6)
    ca_bundle: Path | None = None  # --ca-bundle: the private CA that signed the server's TLS certificate
    database_url: str | None = None  # --database-url / CERTCLI_DATABASE_URL: PostgreSQL instead of the home's file
    _now: datetime | None = None
    _store: Any = None
    _console: Any = None
    extra: dict = field(default_factory=dict)

    @property
    def now(self) -> datetime:
        if self._now is None:
            self._now = clock.now()
        return self._now

    def store(self, create: bool = False):
        if self._store is None:
            from certcli.store import open_store

            self._store = open_store(self.home, create=create, database_url=self.database_url)
        return self._store

    def store_location(self) -> str:
        """Where the store is, for messages: the database URL (password masked) or the home."""
        if self.database_url:
            from certcli.pgstore import masked

            return masked(self.database_url)
        return str(self.home)

    def has_store(self) -> bool:
        """A store to open: the database named by a URL, or the home's SQLite file."""
        from certcli.home import store_file

        return bool(self.database_url) or store_file(self.home).exists()

    @property
    def console(self):
        if self._console is None:
            self._console = pipe_safe_console()
        return self._console

    def t(self, key: str, **data) -> str:
        return i18n.t(key, self.lang, **data)

    def emit(self, document: dict, human: Callable[[], None] | str | None = None) -> None:
        """JSON mode: exactly one document on stdout.  Human mode: ``human``.
        A reader that stops reading (``| head -1``) changes nothing: the command goes on
        to its own exit status (verify: 0 valid, 1 not valid)."""
        try:
            if self.json:
                sys.stdout.write(json.dumps(document, ensure_ascii=False, default=_json_default) + "\n")
                sys.stdout.flush()
            elif callable(human):
                human()
            elif human:
                self.console.print(human)
        except BrokenPipeError:
            stdout_gone()

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
        remote = self.extra.pop("remote", None)  # the remote services' HTTP connection
        if remote is not None:
            remote.close()


def pipe_safe_console(stderr: bool = False):
    """A rich Console whose closed pipe is not an exit status: rich's own ``on_broken_pipe``
    exits 1, which for ``verify`` would turn VALID into NOT VALID."""
    from rich.console import Console

    class PipeSafeConsole(Console):
        def on_broken_pipe(self) -> None:
            stdout_gone(sys.stderr if self.stderr else sys.stdout)

    return PipeSafeConsole(stderr=stderr, highlight=False, soft_wrap=True)


def stdout_gone(stream=None) -> None:
    """The reader of our standard output (or of ``stream``, e.g. standard error) went away
    (``certcli verify X | head -1``).  Whatever is still to be written goes to /dev/null (the Python documentation's
    recipe for SIGPIPE), so no later write or flush fails and nothing (rich, click, the
    boundary, the interpreter's last flush) turns it into an exit status of its own."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, (stream or sys.stdout).fileno())
        finally:
            os.close(devnull)
    except (OSError, ValueError, AttributeError):   # no real descriptor (tests capture stdout)
        pass


def stdout_broken() -> bool:
    """Standard output is a pipe (or socket) nobody reads any more."""
    try:
        import select

        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(event & (select.POLLERR | select.POLLHUP) for _, event in poller.poll(0))
    except (OSError, ValueError, AttributeError):   # no poll (Windows), no descriptor (captured)
        return False


def write_stdout(text: str) -> None:
    """Write ``text`` to standard output now; a reader that went away is not an error."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        stdout_gone()


def flush_stdout() -> None:
    """Flush standard output now, inside the program, where a closed pipe can still be handled."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        stdout_gone()
    except (OSError, ValueError, AttributeError):
        pass


def _json_default(value):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (set, tuple)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    return str(value)


_RUNTIME: Runtime | None = None


def set_runtime(runtime: Runtime) -> None:
    global _RUNTIME
    if _RUNTIME is not None:
        _RUNTIME.close()
    _RUNTIME = runtime


def rt() -> Runtime:
    if _RUNTIME is None:  # a command module used without the root callback
        set_runtime(Runtime(home=default_home(), lang=i18n.default_lang()))
    return _RUNTIME


def default_home() -> Path:
    env = os.environ.get("CERTCLI_HOME")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_data_dir("certcli", appauthor=False))


def server_url(text: str) -> str:
    """``--server``: an http(s) URL without query, fragment or credentials; plain http only to
    this machine (loopback), since passwords and session tokens travel over it."""
    from urllib.parse import urlsplit

    from certcli.errors import UsageError

    try:
        parts = urlsplit(text.strip())
        host, _port = parts.hostname, parts.port
    except ValueError:
        host = parts = None
    if parts is None or parts.scheme not in ("http", "https") or not host or parts.query or parts.fragment \
            or parts.username or parts.password:
        report(UsageError(detail=rt().t("server_bad_url", url=text[:200])))
    if parts.scheme == "http" and not is_loopback(host):
        report(UsageError(detail=rt().t("server_needs_https", url=text[:200])))
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def is_loopback(host: str) -> bool:
    import ipaddress

    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def report(error: CertcliError) -> NoReturn:
    """Report a typed error (its message in the user's language, its data in JSON) and exit."""
    report_error(error.code, error.message(rt().lang), error.exit_code, error.data)


def report_error(code: str, message: str, exit_code: ExitStatus, data: dict | None = None) -> NoReturn:
    runtime = rt()
    if runtime.json:
        from certcli.errors import error_document

        # nobody may be reading (`| head`): the error's own exit code stands all the same
        write_stdout(json.dumps(error_document(code, message, data), ensure_ascii=False,
                                default=_json_default) + "\n")
    else:
        from rich.markup import escape

        pipe_safe_console(stderr=True).print(f"[bold red]✗[/] {escape(message)}", markup=True)
    raise typer.Exit(exit_code)


def click_module():
    """The click that raises the errors: typer's own copy, or click for a typer without one."""
    try:
        from typer import _click as click
    except ImportError:  # pragma: no cover - a typer that uses click itself
        import click
    return click


def handled(fn: Callable) -> Callable:
    """The error boundary.  No traceback reaches a user for any input (unless asked for:
    ``CERTCLI_DEBUG=1`` or ``--traceback`` print it for internal errors)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        runtime = rt()
        try:
            runtime.now  # a bad CERTCLI_NOW is reported before anything is touched
            return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except CertcliError as error:
            report(error)
        except _database_errors() as error:
            from certcli.store import translate_error

            typed = translate_error(error, runtime.store_location())
            if isinstance(typed, InternalError) and (runtime.traceback or debug_requested()):
                import traceback

                traceback.print_exception(error, file=sys.stderr)
            report(typed)
        except UnicodeError as error:  # e.g. undecodable bytes in an argument, which reach us as lone surrogates
            report(BadInput(field="text", reason="encoding", value=_undecodable_part(error)))
        except BrokenPipeError as error:
            if not stdout_broken():      # a pipe or FIFO the command itself wrote to: a file error
                report(os_error(error, runtime.home))
            # Our stdout's reader went away (`| head`) in a write outside emit(): the command had
            # reached its output, so it did its work.  Not a file error (6), nor click's EPIPE exit 1.
            stdout_gone()
            raise typer.Exit(ExitStatus.OK)
        except OSError as error:
            report(os_error(error, runtime.home))
        except KeyboardInterrupt:
            raise typer.Exit(ExitStatus.INTERRUPTED)
        except Exception as error:  # noqa: BLE001 - the boundary of last resort
            if runtime.traceback or debug_requested():
                import traceback

                traceback.print_exception(error, file=sys.stderr)
            report(InternalError(kind=type(error).__name__))
        finally:
            runtime.close()

    return wrapper


def _database_errors() -> tuple:
    """sqlite3's and (once loaded) psycopg's errors; looked up only when an error is raised."""
    from certcli.store import database_errors

    return database_errors()


def debug_requested(environ=os.environ) -> bool:
    """``CERTCLI_DEBUG=1`` (any value but empty, 0, false, no): show tracebacks of internal errors."""
    return environ.get("CERTCLI_DEBUG", "").strip().lower() not in ("", "0", "false", "no", "off")


def os_error(error: OSError, home: Path) -> CertcliError:
    """An OSError that no layer below typed: the store's only if it names a file in the home.
    Writers name their file (certcli.home), so one without a file name is not blamed on the store."""
    reason = error.strerror or type(error).__name__
    filename = error.filename
    path = os.fsdecode(filename) if isinstance(filename, (str, bytes, os.PathLike)) else None
    if path is not None and _inside(path, home):
        return StoreUnwritable(path=path, reason=reason)
    return FileError(path=path, reason=reason)


def _undecodable_part(error: UnicodeError) -> str | None:
    obj, start, end = (getattr(error, name, None) for name in ("object", "start", "end"))
    if obj is None or start is None or end is None:
        return None
    return ascii(obj[start:end][:16])


def _inside(filename, folder: Path) -> bool:
    if not filename:
        return False
    try:
        return Path(os.fsdecode(filename)).resolve().is_relative_to(Path(folder).resolve())
    except (OSError, ValueError):
        return False


def read_secret(kind: str, *, from_stdin: bool, confirm: bool = False) -> str:
    """Passwords and passphrases: environment, one line of stdin, or a hidden prompt."""
    env_var = "CERTCLI_PASSWORD" if kind == "password" else "CERTCLI_KEY_PASSPHRASE"
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if line:
            return line
    elif os.environ.get(env_var):
        return os.environ[env_var]
    elif sys.stdin.isatty():
        return typer.prompt(rt().t(f"label.{kind}"), hide_input=True,
                            confirmation_prompt=confirm)
    report(PasswordRequired() if kind == "password" else PassphraseRequired())


PASSWORD_STDIN = typer.Option("--password-stdin", help="Read the password from one line of standard input.")
PASSPHRASE_STDIN = typer.Option("--passphrase-stdin",
                                help="Read the key passphrase from one line of standard input.")
