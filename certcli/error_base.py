"""The machinery of certcli's typed errors: :class:`CertcliError` (named fields, a stable
code, an :class:`ExitStatus`), the JSON error document, and finding a class by its code.
The error classes themselves are in :mod:`certcli.errors` (holder-facing refusals, exit
1-5) and :mod:`certcli.errors_io` (input, store, keys, server, bugs: exit 6, 7, 8, 70);
import them all from :mod:`certcli.errors`.

Every error carries a stable ``code`` (SPEC §4), the process exit code it maps
to (an :class:`ExitStatus`), and named fields: the data its message needs.
Only the CLI layer turns them into text (via :mod:`certcli.i18n`, templates in
``certcli/data/messages.json`` keyed by the code) and exit codes; the library
raises and never prints.

An error class declares its fields as class annotations, like a dataclass::

    class BadPhoto(CertcliError):
        code = "bad_photo"
        exit_code = ExitStatus.BAD_INPUT
        reason: str                 # required
        detail: str | None = None   # optional: its part of the message is left out when absent

and is built with those fields only (keywords, or positionally in declaration
order); an unknown or missing field is a ``TypeError`` at the raise site.
``error.data`` is the dict of the fields (the ``data`` of the JSON error).
"""
from __future__ import annotations

from enum import IntEnum
from typing import Any, ClassVar


class ExitStatus(IntEnum):
    """Process exit codes (SPEC §4, README "Exit codes")."""

    OK = 0
    NOT_VALID = 1     # `verify` found the certificate NOT valid
    USAGE = 2
    AUTH = 3          # authentication needed or failed
    RULE = 4          # refused by a rule
    NOT_FOUND = 5
    BAD_INPUT = 6     # bad input data (also a file the user named that cannot be read or written)
    STORE = 7         # store or key problem
    SERVER = 8        # the server could not be reached or failed (remote mode)
    INTERNAL = 70     # a bug: one line, no traceback (unless CERTCLI_DEBUG=1 or --traceback)
    INTERRUPTED = 130  # Ctrl-C


# The old names, kept for callers that import them.
EXIT_OK = ExitStatus.OK
EXIT_NOT_VALID = ExitStatus.NOT_VALID
EXIT_USAGE = ExitStatus.USAGE
EXIT_AUTH = ExitStatus.AUTH
EXIT_RULE = ExitStatus.RULE
EXIT_NOT_FOUND = ExitStatus.NOT_FOUND
EXIT_BAD_INPUT = ExitStatus.BAD_INPUT
EXIT_STORE = ExitStatus.STORE
EXIT_SERVER = ExitStatus.SERVER
EXIT_INTERNAL = ExitStatus.INTERNAL

_MISSING = object()


class CertcliError(Exception):
    code: ClassVar[str] = "error"
    exit_code: ClassVar[ExitStatus] = ExitStatus.INTERNAL
    fields: ClassVar[tuple[str, ...]] = ()          # declared fields, in order
    defaults: ClassVar[dict[str, Any]] = {}         # the optional ones and their defaults

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # the class's own annotations (not inspect.get_annotations: importing inspect costs ~8 ms at start-up)
        own = [name for name, kind in cls.__dict__.get("__annotations__", {}).items() if "ClassVar" not in str(kind)]
        defaults = dict(cls.defaults)
        defaults.update({name: cls.__dict__[name] for name in own if name in cls.__dict__})
        cls.fields = tuple(dict.fromkeys((*cls.fields, *own)))
        cls.defaults = defaults
        if not isinstance(cls.__dict__.get("exit_code", cls.exit_code), ExitStatus):
            raise TypeError(f"{cls.__name__}.exit_code must be an ExitStatus")

    def __init__(self, *args, **kwargs):
        name = type(self).__name__
        if len(args) > len(self.fields):
            raise TypeError(f"{name}() takes {len(self.fields)} positional arguments but {len(args)} were given")
        for field_name, value in zip(self.fields, args):
            if field_name in kwargs:
                raise TypeError(f"{name}() got multiple values for argument {field_name!r}")
            kwargs[field_name] = value
        unknown = [key for key in kwargs if key not in self.fields]
        if unknown:
            raise TypeError(f"{name}() got an unexpected keyword argument {unknown[0]!r} "
                            f"(fields: {', '.join(self.fields) or 'none'})")
        data = {}
        for field_name in self.fields:
            value = kwargs.get(field_name, self.defaults.get(field_name, _MISSING))
            if value is _MISSING:
                raise TypeError(f"{name}() missing required argument {field_name!r}")
            data[field_name] = value
        self.data = data
        self.__dict__.update(data)
        super().__init__(f"{self.code}: {data}" if data else self.code)

    def message(self, lang: str = "en") -> str:
        """The user-facing message in ``lang`` (the catalog template filled with the fields, in words)."""
        from certcli import i18n

        return i18n.t(self.code, lang, **i18n.in_words(self.data, lang))

    def __reduce__(self):
        # Rebuild from the state alone (a roster or processing worker process sends its
        # errors to the parent); __init__ is not run again.
        return _rebuild, (type(self), self.args, self.__dict__)


def _rebuild(cls: type[CertcliError], args: tuple, state: dict) -> CertcliError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


def error_document(code: str, message: str, data: dict | None = None) -> dict:
    """The JSON error document, as ``--json`` prints it and ``certcli serve`` answers it:
    ``{"error": {"code", "message", "data"}}``; ``data`` leaves out empty fields and file
    paths (which are the machine's, not the user's business), and is absent when empty."""
    error: dict = {"code": code, "message": message}
    public = {k: v for k, v in (data or {}).items() if k != "path" and v is not None}
    if public:
        error["data"] = public
    return {"error": error}


def by_code(code: str) -> type[CertcliError] | None:
    """The error class with this stable code (the remote client re-raises the server's errors)."""
    todo, found = [CertcliError], {}
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        found.setdefault(cls.__dict__.get("code", ""), cls)
    return found.get(code) if code else None


def rebuild(code: str, data: dict | None) -> CertcliError | None:
    """The typed error an error document describes (fields it left out take their defaults,
    or None), so its message and exit code are those of the error the server raised."""
    cls = by_code(code)
    if cls is None or cls is CertcliError:
        return None
    data = data if isinstance(data, dict) else {}
    state = {name: data.get(name, cls.defaults.get(name)) for name in cls.fields}
    error = cls.__new__(cls)
    Exception.__init__(error, f"{code}: {state}" if state else code)
    error.data = state
    error.__dict__.update(state)
    return error


def describe(error: BaseException, lang: str = "en") -> str:
    """One line for a log or a stored failure reason: ``code: message`` for our errors,
    ``ExceptionType: text`` for anything else."""
    if isinstance(error, CertcliError):
        return f"{error.code}: {error.message(lang)}"
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
