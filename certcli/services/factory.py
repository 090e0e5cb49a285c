"""Which holder service a command talks to.

Today: the home's store (:class:`certcli.services.local.LocalHolderService`).
With ``--server URL`` (SPEC §6) this is where the remote implementation will be
chosen; the commands do not change.  ``runtime`` is the command layer's Runtime
(anything with ``home``, ``now`` and ``store()``); nothing here imports the
command layer.
"""
from __future__ import annotations

from certcli.services.holder import HolderService


def holder_service(runtime) -> HolderService:
    from certcli.services.local import LocalHolderService

    # the runtime opens the store on first use and closes it when the command ends
    return LocalHolderService(runtime.home, runtime.now, store=runtime.store)
