"""`crossdock stitch --explain-config`: the match fields and blocking rules a stitch uses, and why.

Reads the workspace only (no records): what `identity:` resolves to, where each
part came from (crossdock.yaml or the default), and which contact streams fill
each field, since a field no stream maps is always missing and a blocking rule
on it never makes a pair.
"""

from __future__ import annotations

from typing import Any

from hub.context import HubContext
from hub.identity.blocking import further_keys, rule_label
from hub.identity.config import IdentityConfig
from hub.identity.run import mapped_contact_fields

__all__ = ["describe_config"]

_KINDS = {
    "name": "names: exact, Jaro-Winkler >= 0.92, >= 0.80, different",
    "text": "text: exact, Jaro-Winkler >= 0.90, >= 0.75, different",
    "date": "dates: exact, one edit or day/month swapped, same year, different",
    "code": "codes: exact, one edit, different",
    "exact": "exact or different",
}


def describe_config(ctx: HubContext) -> dict[str, Any]:
    ws = ctx.workspace()
    config: IdentityConfig = ws.identity
    mapped = mapped_contact_fields(ctx, ws)
    match = config.match
    # A match field named like an identifier type compares that identifier's record field.
    id_types = {r.type: r.field for r in config.identifiers}
    identifier_fields = [f.field for f in match.fields if f.field in id_types]

    def source(model: Any, name: str) -> str:
        return "crossdock.yaml" if name in model.model_fields_set else "default"

    fields = []
    for f in match.fields:
        streams = mapped.get(id_types.get(f.field, f.field), [])
        if not streams:
            why = "no contact stream maps it: always missing, evidence neither way"
        elif f.field in id_types:
            why = f"an identifier: the same {f.field} links outright, a different one counts against"
        else:
            why = f"compared as {_KINDS[f.compare]}"
            if f.term_frequency:
                why += "; agreeing on a rare value weighs more (term_frequency)"
        fields.append({**f.model_dump(mode="json"), "mapped_by": streams, "why": why})
    rules = []
    for rule in match.blocking:
        names = [p.split(":", 1)[0] for p in rule]
        missing = [n for n in names if not mapped.get(id_types.get(n, n))]
        why = f"candidate pairs share {rule_label(rule)}"
        if missing:
            why = f"makes no pairs: no contact stream maps {', '.join(missing)}"
        rules.append(
            {
                "rule": rule_label(rule),
                "split_by": further_keys(match, rule, identifier_fields),
                "why": why,
            }
        )
    return {
        "identifiers": [
            {**r.model_dump(mode="json"), "mapped_by": mapped.get(r.field, [])} for r in config.identifiers
        ],
        "shared_threshold": config.shared_threshold,
        "match": {
            "enabled": match.enabled,
            "fields_from": source(match, "fields") if "match" in config.model_fields_set else "default",
            "blocking_from": source(match, "blocking") if "match" in config.model_fields_set else "default",
            "fields": fields,
            "blocking": rules,
            "max_block_size": match.max_block_size,
            "threshold": match.threshold,
            "review_below": match.review_below,
        },
        "memory_limit": config.memory_limit,
        "threads": config.threads,
    }
