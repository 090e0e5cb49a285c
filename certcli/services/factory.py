"""Which holder service (and which verifier) a command talks to.

Locally: the home's store (:class:`certcli.services.local.LocalHolderService`).
With ``--server URL`` (SPEC §6): ``certcli serve`` over HTTP
(:class:`certcli.services.remote.RemoteHolderService`); the commands do not
change.  ``runtime`` is the command layer's Runtime (anything with ``home``,
``now``, ``store()``, ``lang``, ``server``, ``ca_bundle`` and ``extra``);
nothing here imports the command layer.
"""
from __future__ import annotations

from certcli.services.holder import HolderService


def _connection(runtime):
    """One HTTP connection per command; the runtime closes it when the command ends."""
    connection = runtime.extra.get("remote")
    if connection is None:
        from certcli.services.remote import Connection

        connection = runtime.extra["remote"] = Connection(runtime.server, home=runtime.home, lang=runtime.lang,
                                                          ca_bundle=getattr(runtime, "ca_bundle", None))
    return connection


def holder_service(runtime) -> HolderService:
    if getattr(runtime, "server", None):
        from certcli.services.remote import RemoteHolderService

        return RemoteHolderService(_connection(runtime))
    from certcli.services.local import LocalHolderService

    # the runtime opens the store on first use and closes it when the command ends
    return LocalHolderService(runtime.home, runtime.now, store=runtime.store)


def verifier(runtime, trust=None, ledgers=None, max_bundle_age=None):
    """``verify(pdf=PATH | qr=PAYLOAD | number=N, name=NAME) -> the verify document``.
    A trust bundle (``--trust``, with its closed keys' ``ledgers`` and the strictness
    ``max_bundle_age``) is always checked locally, with or without a server."""
    if getattr(runtime, "server", None) and trust is None:
        from certcli.services.remote import RemoteVerifier

        return RemoteVerifier(_connection(runtime))
    from certcli.services.local import LocalVerifier

    return LocalVerifier(runtime.home, runtime.now, runtime.lang, trust, ledgers, max_bundle_age)
