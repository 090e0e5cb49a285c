"""Pure rules for regional issuance policy and paper-certificate collection
(SPEC §3, seeds 000 and 002).  Standard library only; the day is passed in."""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

from certcli.errors import (
    ElectronicNotIssued,
    PaperCollectionNotOpen,
    PaperNotIssued,
    PaperRequestState,
)

ELECTRONIC, PAPER, BOTH = "electronic", "paper", "both"
MODES = (ELECTRONIC, PAPER, BOTH)
DEFAULT_MODE = BOTH  # a region without a policy issues both
# Paper certificates are usually handed out 2–3 months after the results (seed 002).
DEFAULT_COLLECTION_AFTER_MONTHS = 2
MAX_COLLECTION_AFTER_MONTHS = 24

ONSITE, MAIL = "onsite", "mail"
METHODS = (ONSITE, MAIL)
REQUESTED, READY, HANDED_OVER, MAILED = "requested", "ready", "handed_over", "mailed"
OPEN_STATUSES = (REQUESTED, READY)

# Longest first, so 广西壮族自治区 loses the whole suffix and not just 自治区.
_REGION_SUFFIXES = ("维吾尔自治区", "壮族自治区", "回族自治区", "特别行政区", "自治区", "省", "市")


def region_key(name: str | None) -> str:
    """The name regions are matched by: 北京市 and 北京 are one region."""
    text = (name or "").strip()
    for suffix in _REGION_SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix) + 1:
            return text[: -len(suffix)]
    return text.lower()


@dataclass(frozen=True)
class Policy:
    region: str
    mode: str
    since: date | None = None  # applies to certificates issued on or after this day
    collection_after_months: int | None = None

    @property
    def months(self) -> int:
        return DEFAULT_COLLECTION_AFTER_MONTHS if self.collection_after_months is None \
            else self.collection_after_months


def effective_policy(policies, region: str | None, issued_on: date) -> Policy:
    """The policy in force for a certificate: its region's latest policy that
    started on or before the certificate's issue day; otherwise both forms."""
    key = region_key(region)
    candidates = [p for p in policies if key and region_key(p.region) == key
                  and (p.since is None or p.since <= issued_on)]
    if not candidates:
        return Policy(region or "", DEFAULT_MODE)
    return max(candidates, key=lambda p: p.since or date.min)


def check_electronic_allowed(policy: Policy, certificate_no: str) -> None:
    if policy.mode == PAPER:
        raise ElectronicNotIssued(region=policy.region, certificate_no=certificate_no, since=policy.since)


def check_paper_allowed(policy: Policy, certificate_no: str) -> None:
    if policy.mode == ELECTRONIC:
        raise PaperNotIssued(region=policy.region, certificate_no=certificate_no, since=policy.since)


def add_months(day: date, months: int) -> date:
    """Same day ``months`` later, or the month's last day if it has no such day."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def collection_opens_on(results_on: date, months: int) -> date:
    return add_months(results_on, months)


def check_collection_open(results_on: date, months: int, today: date) -> date:
    opens_on = collection_opens_on(results_on, months)
    if today < opens_on:
        raise PaperCollectionNotOpen(opens_on=opens_on)
    return opens_on


def check_method(method: str, proxy: bool) -> None:
    if method not in METHODS:
        raise ValueError("method")
    if proxy and method != ONSITE:
        raise ValueError("proxy")  # a proxy collects in person; by mail there is nobody to send


def checklist(method: str, proxy: bool = False) -> tuple[str, ...]:
    """What to bring or send (seeds 000, 002), in order; the words for each item are
    ``checklist.<item>`` in the catalog (certcli/data/messages.json)."""
    if method == MAIL:
        return ("application_form", "id_card_copy", "signed_receipt", "postage")
    items = ("score_report", "degree_original", "id_card_original", "photos", "registration_form")
    return items + (("power_of_attorney", "both_ids") if proxy else ())


# (action, method) -> (states it may follow, new state)
_TRANSITIONS = {
    ("ready", ONSITE): ((REQUESTED,), READY),
    ("ready", MAIL): ((REQUESTED,), READY),
    ("handed_over", ONSITE): ((READY,), HANDED_OVER),
    ("mailed", MAIL): ((READY,), MAILED),
}


def next_status(current: str, action: str, method: str) -> str:
    rule = _TRANSITIONS.get((action, method))
    if rule is None or current not in rule[0]:
        raise PaperRequestState(status=current, action=action, method=method)
    return rule[1]
