"""What every command shares: global options, output, secrets, and the one
error boundary that turns library exceptions into a message and an exit code."""
import functools
import json
import os
import sqlite3
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

import typer

from certcli import clock, i18n
from certcli.errors import EXIT_BAD_INPUT, EXIT_STORE, EXIT_USAGE, CertcliError, StoreUnwritable

EXIT_INTERNAL = 70  # a bug: reported without a traceback (see README, exit codes)


@dataclass
class Runtime:
    home: Path
    json: bool = False
    lang: str = "en"
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

            self._store = open_store(self.home, create=create)
        return self._store

    @property
    def console(self):
        if self._console is None:
            from rich.console import Console

            self._console = Console(highlight=False, soft_wrap=True)
        return self._console

    def t(self, key: str, **data) -> str:
        return i18n.t(key, self.lang, **data)

    def emit(self, document: dict, human: Callable[[], None] | str | None = None) -> None:
        """JSON mode: exactly one document on stdout.  Human mode: ``human``."""
        if self.json:
            sys.stdout.write(json.dumps(document, ensure_ascii=False, default=_json_default) + "\n")
        elif callable(human):
            human()
        elif human:
            self.console.print(human)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


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


def report_error(code: str, message: str, exit_code: int, data: dict | None = None) -> None:
    runtime = rt()
    if runtime.json:
        error = {"code": code, "message": message}
        public = {k: v for k, v in (data or {}).items() if k not in ("path",)}
        if public:
            error["data"] = public
        sys.stdout.write(json.dumps({"error": error}, ensure_ascii=False, default=_json_default) + "\n")
    else:
        from rich.console import Console

        Console(stderr=True, highlight=False, soft_wrap=True).print(f"[bold red]✗[/] {message}", markup=True)
    raise typer.Exit(exit_code)


def handled(fn: Callable) -> Callable:
    """The error boundary.  No traceback reaches a user for any input."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        runtime = rt()
        try:
            runtime.now  # a bad CERTCLI_NOW is reported before anything is touched
            return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except CertcliError as error:
            report_error(error.code, runtime.t(error.code, **i18n.in_words(error.data, runtime.lang)),
                         error.exit_code, error.data)
        except sqlite3.Error as error:
            from certcli.store import translate_sqlite_error

            mapped = translate_sqlite_error(error, runtime.home)
            report_error(mapped.code, runtime.t(mapped.code, **mapped.data), mapped.exit_code)
        except UnicodeError:  # e.g. undecodable bytes in an argument, which reach us as lone surrogates
            report_error("bad_input", runtime.t("bad_input", field="text encoding"), EXIT_BAD_INPUT)
        except OSError as error:
            reason = error.strerror or type(error).__name__
            if _inside(error.filename, runtime.home) or error.filename is None:
                mapped = StoreUnwritable(reason=reason)
                report_error(mapped.code, runtime.t(mapped.code, **mapped.data), EXIT_STORE)
            report_error("file_error", runtime.t("file_error", path=error.filename, reason=reason), EXIT_BAD_INPUT,
                         {"reason": reason})
        except KeyboardInterrupt:
            raise typer.Exit(130)
        except Exception as error:  # noqa: BLE001 - the boundary of last resort
            kind = type(error).__name__
            report_error("internal_error", runtime.t("internal_error", kind=kind), EXIT_INTERNAL)
        finally:
            runtime.close()

    return wrapper


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
    code = "password_required" if kind == "password" else "passphrase_required"
    report_error(code, rt().t(code), EXIT_USAGE)
    raise AssertionError  # unreachable: report_error raises


PASSWORD_STDIN = typer.Option("--password-stdin", help="Read the password from one line of standard input.")
PASSPHRASE_STDIN = typer.Option("--passphrase-stdin",
                                help="Read the key passphrase from one line of standard input.")
