"""admin rotate-seal / retire-seal: seal key rotation and compromise (issue 5).

* ``rotate-seal SEAL_ID`` makes a new key + certificate for a seal; new documents
  are signed with it.  The old key stays in the trust bundle (status ``rotated``),
  so documents it signed stay valid until their own windows end, or until its
  certificate expires, whichever is first.
* ``retire-seal KEY_ID --compromised-at TIME`` marks a key compromised: every
  signature it made at or after that instant is invalid.  If the key is still
  its seal's active key, the seal is rotated first, so issuing goes on.

Both need the key passphrase.  Export a fresh bundle afterwards
(``admin trust``) for offline verifiers.
"""
from typing import Annotated

import typer

from certcli.commands._runtime import PASSPHRASE_STDIN, handled, rt
from certcli.home import has_store


def _t(key: str, **data) -> str:
    return rt().t(f"seal_{key}_notice", **data)


def register(admin_app: typer.Typer) -> None:
    admin_app.command("rotate-seal")(handled(rotate_seal))
    admin_app.command("retire-seal")(handled(retire_seal))


def _seal_json(seal) -> dict:
    return {"seal_id": seal.seal_id, "name": seal.name, "key_id": seal.key_id, "status": seal.status,
            "not_before": seal.not_before, "not_after": seal.not_after, "rotated_at": seal.rotated_at,
            "retired_at": seal.retired_at}


def rotate_seal(
    seal_id: Annotated[str, typer.Argument(help="The seal to rotate, e.g. ministry (see `admin trust`).")],
    passphrase_stdin: Annotated[bool, PASSPHRASE_STDIN] = False,
) -> None:
    """Give a seal a new signing key; documents signed with the old key stay valid."""
    from certcli.commands.admin import keys_of, unlock

    runtime = rt()
    passphrase = unlock(runtime, passphrase_stdin)
    keys = keys_of(runtime)
    old = keys.active_seal(seal_id)
    new = keys.rotate_seal(seal_id, passphrase, runtime.now)
    from certcli import audit

    if has_store(runtime.home):
        audit.record(runtime.store(), now=runtime.now, actor="admin", action="rotate_seal", subject=seal_id,
                     old_key_id=old.key_id, new_key_id=new.key_id)
    runtime.emit({"seal_id": seal_id, "old_key_id": old.key_id, "new_key_id": new.key_id,
                  "seals": [_seal_json(s) for s in keys.seals()]},
                 lambda: runtime.console.print(_t("rotated", seal_id=seal_id, new_key_id=new.key_id,
                                                  old_key_id=old.key_id), markup=False))


def retire_seal(
    key_id: Annotated[str, typer.Argument(help="The key id to retire (16 hex digits, see `admin trust`).")],
    compromised_at: Annotated[str, typer.Option("--compromised-at", help="ISO 8601 instant from which the key "
                                                "counts as compromised (no offset: UTC+8).")],
    passphrase_stdin: Annotated[bool, PASSPHRASE_STDIN] = False,
) -> None:
    """Retire a compromised seal key: its signatures from --compromised-at on are invalid."""
    from certcli.clock import parse_instant
    from certcli.commands.admin import keys_of, unlock
    from certcli.errors import NotFound
    from certcli.verification.checks import cst_text

    runtime = rt()
    when = parse_instant(compromised_at)              # bad_time (exit 2) before anything else
    key_id = key_id.strip().lower()
    passphrase = unlock(runtime, passphrase_stdin)
    keys = keys_of(runtime)
    entry = next((s for s in keys.seals() if s.key_id == key_id), None)
    if entry is None:
        raise NotFound(kind="seal_key", key_id=key_id)
    new = None
    if entry.status == "active":
        new = keys.rotate_seal(entry.seal_id, passphrase, runtime.now)
    retired = keys.retire_seal(key_id, when, passphrase)
    from certcli import audit

    requeued = {"annotations": [], "member_documents": []}
    if has_store(runtime.home):
        from certcli.certificates.requeue import requeue_signed_by

        audit.record(runtime.store(), now=runtime.now, actor="admin", action="retire_seal", subject=key_id,
                     compromised_at=when, rotated_to=new.key_id if new else None)
        requeued = requeue_signed_by(runtime.store(), key_id, when, runtime.now)
    rotated = _t("also_rotated", new_key_id=new.key_id) if new else ""
    count = len(requeued["annotations"]) + len(requeued["member_documents"])

    def human():
        runtime.console.print(_t("retired", key_id=key_id, seal_id=retired.seal_id,
                                 retired_at=cst_text(retired.retired_at), rotated=rotated), markup=False)
        if count:
            runtime.console.print(_t("requeued", count=count), markup=False)

    runtime.emit({"key_id": key_id, "seal_id": retired.seal_id, "retired_at": retired.retired_at,
                  "rotated_to": new.key_id if new else None, "requeued": requeued,
                  "seals": [_seal_json(s) for s in keys.seals()]}, human)
