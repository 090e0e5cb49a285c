"""The verification scope (证书查询验证范围, seed 004) and the FAQ.

The scope is the built-in catalogue (certcli.catalog) joined with what the
store holds: each qualification with its seal and whether annotation applies.
"""
from __future__ import annotations

import json
from importlib.resources import files

from certcli import catalog, rules

# How R5/R6 apply to a qualification, by seal.
ANNOTATION_REQUIRED = "required"
ANNOTATION_FROM_CUTOFF = "required_from_2021_12_17"  # association seal: older ones are exempt (R6)
ANNOTATION_NOT_APPLICABLE = "not_applicable"  # membership certificates follow their own flow

# words: annotation_rule.<rule> and seal.<seal> in the catalog (certcli/data/messages.json)


def annotation_rule(seal: str, kind: str = "qualification") -> str:
    if kind == "membership":
        return ANNOTATION_NOT_APPLICABLE
    return ANNOTATION_REQUIRED if seal == "ministry" else ANNOTATION_FROM_CUTOFF


def _entry(qualification: str, seal: str, kind: str = "qualification", in_catalogue: bool = True) -> dict:
    return {"qualification": qualification, "code": catalog.qualification_code(qualification), "kind": kind,
            "seal": seal, "annotation": annotation_rule(seal, kind), "in_catalogue": in_catalogue,
            "certificates": 0}


def catalogue() -> list[dict]:
    return ([_entry(q, "ministry") for q in catalog.MINISTRY_QUALIFICATIONS] +
            [_entry(q, "association") for q in catalog.ASSOCIATION_QUALIFICATIONS])


def scope(store=None, *, store_only: bool = False) -> dict:
    """The catalogue plus every qualification found in the store, with counts."""
    entries = {e["qualification"]: e for e in catalogue()}
    if store is not None:
        # GROUP BY qualification reads the (qualification, status) index only
        for row in store.all("SELECT qualification, count(*) AS n FROM certificates GROUP BY qualification"):
            entry = entries.get(row["qualification"])
            if entry is None:
                sample = store.one("SELECT seal, kind FROM certificates WHERE qualification = ? LIMIT 1",
                                   (row["qualification"],))
                entry = entries[row["qualification"]] = _entry(row["qualification"], sample["seal"],
                                                                sample["kind"], in_catalogue=False)
            entry["certificates"] = row["n"]
    rows = [e for e in entries.values() if e["certificates"] or not store_only]
    return {"ministry_seal_from": rules.EXEMPTION_CUTOFF.isoformat(), "qualifications": rows,
            "in_store": sum(1 for e in rows if e["certificates"])}


# --- FAQ -----------------------------------------------------------------------------------

def faq() -> list[dict]:
    return json.loads(files("certcli.data").joinpath("faq.json").read_text(encoding="utf-8"))


def faq_topics() -> list[str]:
    return [entry["topic"] for entry in faq()]


def faq_entries(topic: str | None, lang: str) -> list[dict] | None:
    """Entries in one language; None for an unknown topic."""
    chosen = [e for e in faq() if topic is None or e["topic"] == topic]
    if not chosen:
        return None
    key = "zh" if lang == "zh" else "en"
    return [{"topic": e["topic"], "question": e["q"][key], "answer": e["a"][key]} for e in chosen]
