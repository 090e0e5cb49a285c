"""The checks a PDF and a QR payload share: the signed QR claims, the seal key
at signing time, the certificate's current status and the annotation window.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from certcli import catalog, rules
from certcli.documents import qrpayload
from certcli.errors import CertcliError
from certcli.verification.context import Context, Verdict, cst_text

# Longest honest annotation: applied on day D for 90 days, signed no earlier than
# the start of day D, usable until the start of day D+90 (R2).
MAX_WINDOW = timedelta(days=rules.MAX_ANNOTATION_DAYS)
# A rotated key's signatures count until its rotation, plus this long: an `admin
# process` run that loaded the key just before the rotation finishes its batch.
ROTATION_GRACE = timedelta(hours=1)


def status_check(verdict: Verdict, context: Context, number: str, now: datetime | None = None) -> None:
    """The store's current status; without it, the signed bundle's revocation list as of
    its ``issued_at``.  With the store a number it never issued is NOT VALID."""
    from certcli.verification import issued

    if context.store is None:
        if context.bundle is not None:
            issued.bundle_status(verdict, context, number, now or verdict.checked_at)
        else:
            verdict.add("certificate_status", None, "no_store")
        return
    row = context.store.one("SELECT status FROM certificates WHERE certificate_no = ?", (number,))
    if row is None:
        verdict.add("certificate_status", False, "not_issued")
    elif row["status"] == "revoked":
        verdict.add("certificate_status", False, "certificate_revoked")
    elif now is not None and issued.is_stale(context, now):
        verdict.add("certificate_status", False, "bundle_stale", cst_text(context.bundle.issued_at))
    else:
        verdict.add("certificate_status", True)


def qualification_name(code: str, context: Context | None = None, number: str | None = None) -> str | None:
    """The qualification a QR code names by its code: a known one from the catalog; any other
    from the issuer's store, when it is here and its certificate has exactly that code."""
    name = catalog.qualification_name(code)
    if name is None and context is not None and context.store is not None and number:
        try:
            row = context.store.one("SELECT qualification FROM certificates WHERE certificate_no = ?", (number,))
        except Exception:  # noqa: BLE001 - a name is a courtesy: the checks decide validity
            row = None
        if row is not None and catalog.qualification_code(row["qualification"]) == code:
            name = row["qualification"]
    return name


def decode_qr(verdict: Verdict, payload, context: Context):
    """The ``qr_signature`` check: returns the claims, the seal they name and the payload's
    signed digest (its entry in the issuer's registry; the base32 is decoded once), or None."""
    try:
        claims, digest = qrpayload.decode_signed(payload, context.seal_keys)
    except CertcliError as error:
        verdict.add("qr_signature", False, error.code)
        return None
    except Exception:  # noqa: BLE001 - hostile input never raises out of verification
        verdict.add("qr_signature", False, "not_a_certcli_qr")
        return None
    info = context.seal_keys[claims.key_id][0]
    verdict.add("qr_signature", True)
    qualification = qualification_name(claims.qualification_code, context, claims.certificate_no)
    verdict.facts.update({
        "certificate_no": claims.certificate_no, "name": claims.masked_name,
        **({"qualification": qualification} if qualification else {}),
        "qualification_code": claims.qualification_code, "seal": info.name,
        "valid_from": claims.valid_from, "valid_until": claims.valid_until,
        # the last usable day, inclusive (ISO date), beside the exclusive end
        "valid_through": rules.valid_through(claims.valid_until).isoformat() if claims.valid_until else None,
        "key_id": claims.key_id, **dict(claims.extra)})
    return claims, info, digest


def seal_check(verdict: Verdict, info, signed_at: datetime | None, now: datetime,
               recorded: bool | None = None, *, evidence=None, vouched: bool = True) -> None:
    """Was the seal key usable when it signed, and is its certificate still in force (or,
    once ended, was the document signed while it was: :func:`after_expiry`)?

    A retired key's signatures count only when made before ``retired_at``; with no
    signing time to go by (an exempt QR payload) a retired key proves nothing.  A
    rotated key's count when made before ``rotated_at`` (+ ROTATION_GRACE): a key
    that signs after a newer one took over was not used by the issuer's process.
    ``recorded`` is what the issuer's registry or the key's ledger says
    (:mod:`certcli.verification.issued`): True overrides the claimed signing time
    (the issuer recorded it before the key closed), False means a retired key's
    signature counts for nothing, whatever time it claims.  ``evidence`` is that lookup
    (:class:`certcli.verification.issued.Issued`) for the chain model; ``vouched``: the
    trust it rests on still vouches after the root's end (:func:`issued.vouched`).
    """
    rotated_at = info.rotated_at
    if recorded is True:
        rotated_at = None
    if info.retired_at is not None and recorded is not True and \
            (recorded is False or signed_at is None or signed_at >= info.retired_at):
        verdict.add("seal_key", False, "seal_compromised", info.key_id)
    elif rotated_at is not None and signed_at is not None and signed_at >= rotated_at + ROTATION_GRACE:
        verdict.add("seal_key", False, "seal_rotated", f"{info.key_id} {cst_text(rotated_at)}")
    elif signed_at is not None and not info.not_before <= signed_at < info.not_after:
        verdict.add("seal_key", False, "seal_not_valid_at_signing", info.key_id)
    elif now >= info.not_after:
        ok, reason = after_expiry(info.not_before, info.not_after, signed_at, now, evidence, vouched)
        verdict.add("seal_key", ok, reason,
                    cst_text(info.not_after) if ok else f"{info.key_id} {cst_text(info.not_after)}")
    elif now < info.not_before:
        verdict.add("seal_key", False, "seal_not_yet_valid", info.key_id)
    else:
        verdict.add("seal_key", True, detail=info.key_id)


def after_expiry(not_before: datetime, not_after: datetime, signed_at: datetime | None, now: datetime,
                 evidence, vouched: bool) -> tuple[bool, str]:
    """A certificate that has ended (``now >= not_after``): ``(True, "signed_while_valid")``
    when the chain model keeps the document valid (:func:`certcli.rules.chain_standing`: in the
    key's registry or ledger, signed inside the validity, by the registry's time when there is
    one, else the claimed one); ``(False, "bundle_after_root_expired")`` when only a bundle
    signed after its root had ended could say so; else ``(False, "seal_expired")``."""
    recorded = evidence is not None and evidence.ok is True
    when = getattr(evidence, "signed_at", None) or signed_at
    if rules.chain_standing(not_before, not_after, now, recorded=recorded, signed_at=when) != "signed_while_valid":
        return False, "seal_expired"
    return (True, "signed_while_valid") if vouched else (False, "bundle_after_root_expired")


def window_check(verdict: Verdict, valid_from: datetime | None, valid_until: datetime | None,
                 now: datetime) -> None:
    if valid_until is None:
        verdict.add("annotation_window", True, "no_annotation")
    elif valid_from is not None and valid_until - valid_from > MAX_WINDOW:
        verdict.add("annotation_window", False, "window_too_long", cst_text(valid_until))
    elif valid_from is not None and now < valid_from:
        verdict.add("annotation_window", False, "not_yet_valid", cst_text(valid_from))
    elif now >= valid_until:
        verdict.add("annotation_window", False, "annotation_expired", cst_text(valid_until))
    else:
        verdict.add("annotation_window", True, detail=cst_text(valid_until))
