"""Where "now" comes from.  Only the CLI layer calls :func:`now`; the library
and the rules take ``now`` as an argument, so scripts and tests can move time
with ``CERTCLI_NOW``."""
from __future__ import annotations

import os
from datetime import datetime

from certcli.errors import BadTime
from certcli.rules import CST


def parse_instant(text: str) -> datetime:
    """ISO 8601; a value without an offset is read as China Standard Time."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadTime(value=text) from None
    value = value.replace(microsecond=0)
    return value.replace(tzinfo=CST) if value.tzinfo is None else value


def overridden(environ=os.environ) -> bool:
    """True when ``CERTCLI_NOW`` replaces the real clock (an empty value does not):
    ``verify`` says so, since a moved clock can make an expired annotation look valid."""
    return bool(environ.get("CERTCLI_NOW"))


def now(environ=os.environ) -> datetime:
    override = environ.get("CERTCLI_NOW")
    if override:
        return parse_instant(override)
    # whole seconds: instants are stored, signed and compared at that precision
    return datetime.now(CST).replace(microsecond=0)
