"""Options with a fixed set of values (issue 14, item 8): each is a typer choice (a
``Literal`` of the values), so a bad value is a usage error (exit 2) whose message
lists the valid values, and ``--help`` shows them.  The values come from the modules
that own them; case is ignored (give the options ``case_sensitive=False``)."""
from __future__ import annotations

from typing import Literal, Optional

import typer

from certcli import rules
from certcli.regions import rules as region_rules

IdType = Literal[rules.ID_TYPES]
LoginIdType = Literal[(*rules.ID_TYPES, "member")]   # members may log in with --id-type member
RegionMode = Literal[region_rules.MODES]
PaperMethod = Literal[region_rules.METHODS]
PaperStatus = Literal[(region_rules.REQUESTED, region_rules.READY, region_rules.HANDED_OVER, region_rules.MAILED)]
ReviewStage = Literal["local", "national"]
MemberProgress = Literal["awaiting_local", "awaiting_national", "rejected_local", "rejected_national", "approved"]
PhotoSource = Literal["exam", "verified"]
ExportFormat = Literal["csv", "jsonl"]


def reveal_list(value: Optional[str]) -> Optional[str]:
    """``--reveal``: comma-separated details, ``all`` or ``none``; an unknown one is a usage
    error (exit 2) listing what may be revealed."""
    if value is None:
        return None
    from certcli.commands._runtime import rt
    from certcli.membership import rules as member_rules

    try:
        member_rules.parse_reveal(value)
    except ValueError as unknown:
        known = ", ".join((*member_rules.DISCLOSABLE, "all", "none"))
        raise typer.BadParameter(rt().t("usage.cannot_reveal", value=repr(str(unknown)), known=known)) from None
    return value
