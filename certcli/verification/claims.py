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


def status_check(verdict: Verdict, context: Context, number: str) -> None:
    if context.store is None:
        verdict.add("certificate_status", None, "no_store")
        return
    row = context.store.one("SELECT status FROM certificates WHERE certificate_no = ?", (number,))
    if row is None:
        verdict.add("certificate_status", None, "not_in_store")
    elif row["status"] == "revoked":
        verdict.add("certificate_status", False, "certificate_revoked")
    else:
        verdict.add("certificate_status", True)


def qualification_name(code: str) -> str | None:
    for table in (catalog.MINISTRY_QUALIFICATIONS, catalog.ASSOCIATION_QUALIFICATIONS):
        for name, known in table.items():
            if known == code:
                return name
    return None


def decode_qr(verdict: Verdict, payload, context: Context):
    """The ``qr_signature`` check: returns the claims and the seal they name, or None."""
    try:
        claims = qrpayload.decode(payload, context.seal_keys)
    except CertcliError as error:
        verdict.add("qr_signature", False, error.code)
        return None
    except Exception:  # noqa: BLE001 - hostile input never raises out of verification
        verdict.add("qr_signature", False, "not_a_certcli_qr")
        return None
    info = context.seal_keys[claims.key_id][0]
    verdict.add("qr_signature", True)
    qualification = qualification_name(claims.qualification_code)
    verdict.facts.update({
        "certificate_no": claims.certificate_no, "name": claims.masked_name,
        **({"qualification": qualification} if qualification else {}),
        "qualification_code": claims.qualification_code, "seal": info.name,
        "valid_from": claims.valid_from, "valid_until": claims.valid_until, "key_id": claims.key_id,
        **dict(claims.extra)})
    return claims, info


def seal_check(verdict: Verdict, info, signed_at: datetime | None, now: datetime) -> None:
    """Was the seal key usable when it signed, and is its certificate still in force?

    A retired key's signatures count only when made before ``retired_at``; with no
    signing time to go by (an exempt QR payload) a retired key proves nothing.  A
    rotated key's count when made before ``rotated_at`` (+ ROTATION_GRACE): a key
    that signs after a newer one took over was not used by the issuer's process.
    """
    rotated_at = info.rotated_at
    if info.retired_at is not None and (signed_at is None or signed_at >= info.retired_at):
        verdict.add("seal_key", False, "seal_compromised", info.key_id)
    elif rotated_at is not None and signed_at is not None and signed_at >= rotated_at + ROTATION_GRACE:
        verdict.add("seal_key", False, "seal_rotated", f"{info.key_id} {cst_text(rotated_at)}")
    elif signed_at is not None and not info.not_before <= signed_at < info.not_after:
        verdict.add("seal_key", False, "seal_not_valid_at_signing", info.key_id)
    elif now >= info.not_after:
        verdict.add("seal_key", False, "seal_expired", f"{info.key_id} {cst_text(info.not_after)}")
    elif now < info.not_before:
        verdict.add("seal_key", False, "seal_not_yet_valid", info.key_id)
    else:
        verdict.add("seal_key", True, detail=info.key_id)


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
