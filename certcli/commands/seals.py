"""admin rotate-seal / retire-seal: seal key rotation and compromise (issue 5).

* ``rotate-seal SEAL_ID`` makes a new key + certificate for a seal; new documents
  are signed with it.  The old key stays in the trust bundle (status ``rotated``),
  so documents it signed stay valid until their own windows end, or until its
  certificate expires, whichever is first.
* ``retire-seal KEY_ID --compromised-at TIME`` marks a key compromised: only the
  documents the issuer's registry records it signing before that instant stay
  valid (its ledger); anything else signed with it is NOT valid, whatever signing
  time it claims.  If the key is still its seal's active key, the seal is rotated
  first, so issuing goes on.

Both close the old key's ledger (:func:`certcli.certificates.seals.close_ledger`)
and need the key passphrase.  Export a fresh bundle and its ledgers afterwards
(``admin trust -o DIR/trust.pem``) for offline verifiers.
"""
from typing import Annotated

import typer

from certcli.commands._admin import keys_of, seal_json, unlock
from certcli.commands._runtime import PASSPHRASE_STDIN, handled, rt


def _t(key: str, **data) -> str:
    return rt().t(f"seal_{key}_notice", **data)


def register(admin_app: typer.Typer) -> None:
    admin_app.command("rotate-seal")(handled(rotate_seal))
    admin_app.command("retire-seal")(handled(retire_seal))


def rotate_seal(
    seal_id: Annotated[str, typer.Argument(help="The seal to rotate, e.g. ministry (see `admin trust`).")],
    passphrase_stdin: Annotated[bool, PASSPHRASE_STDIN] = False,
) -> None:
    """Give a seal a new signing key; documents signed with the old key stay valid."""
    from certcli.certificates import seals

    runtime = rt()
    passphrase = unlock(runtime, passphrase_stdin)
    keys = keys_of(runtime)
    rotation = seals.rotate_seal(keys, _store_opener(runtime), seal_id, passphrase, runtime.now)
    runtime.emit({"seal_id": seal_id, "old_key_id": rotation.old_key_id, "new_key_id": rotation.new_key_id,
                  "ledger": rotation.ledger, "seals": [seal_json(s) for s in keys.seals()]},
                 lambda: runtime.console.print(_t("rotated", seal_id=seal_id, new_key_id=rotation.new_key_id,
                                                  old_key_id=rotation.old_key_id,
                                                  ledger=(rotation.ledger or {}).get("count")), markup=False))


def retire_seal(
    key_id: Annotated[str, typer.Argument(help="The key id to retire (16 hex digits, see `admin trust`).")],
    compromised_at: Annotated[str, typer.Option("--compromised-at", help="ISO 8601 instant from which the key "
                                                "counts as compromised (no offset: UTC+8).")],
    passphrase_stdin: Annotated[bool, PASSPHRASE_STDIN] = False,
) -> None:
    """Retire a compromised seal key: only what it issued before --compromised-at stays valid."""
    from certcli.certificates import seals
    from certcli.clock import parse_instant
    from certcli.i18n import format_instant

    runtime = rt()
    when = parse_instant(compromised_at)              # bad_time (exit 2) before anything else
    passphrase = unlock(runtime, passphrase_stdin)
    keys = keys_of(runtime)
    retired = seals.retire_seal(keys, _store_opener(runtime), key_id, when, passphrase, runtime.now)
    rotated = _t("also_rotated", new_key_id=retired.rotated_to) if retired.rotated_to else ""
    count = len(retired.requeued["annotations"]) + len(retired.requeued["member_documents"])

    def human():
        runtime.console.print(_t("retired", key_id=retired.key_id, seal_id=retired.seal_id,
                                 retired_at=format_instant(retired.retired_at, runtime.lang), rotated=rotated,
                                 ledger=(retired.ledger or {}).get("count")), markup=False)
        if count:
            runtime.console.print(_t("requeued", count=count), markup=False)

    runtime.emit({"key_id": retired.key_id, "seal_id": retired.seal_id, "retired_at": retired.retired_at,
                  "rotated_to": retired.rotated_to, "requeued": retired.requeued, "ledger": retired.ledger,
                  "seals": [seal_json(s) for s in keys.seals()]}, human)


def _store_opener(runtime):
    """The store when this home has one (keys may exist before the first import)."""
    return runtime.store if runtime.has_store() else None
