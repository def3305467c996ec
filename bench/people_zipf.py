"""People with real-world name frequencies, households and junk, over five systems; truth kept.

Different in kind from hub/identity/synthetic.py (evenly made-up names, one person
per phone): here names follow the real skew (bench/name_tables.py, then a Zipf
tail), so "James Smith" is thousands of people, and the hard parts of customer
data are all in:

- nicknames (Bob for Robert) and typos in names, dates of birth and postcodes;
- households: two to five people at one address, most with one surname, many
  sharing a landline;
- junk emails (`noemail@example.com`, `na@na.com`, ...) typed at a till for
  many unrelated people;
- name-only records from the email tool (a list import without addresses);
- phones in every spelling (`2125550123`, `(212) 555-0123`, `212.555.0123`,
  `+1 212 555 0123`, `12125550123`, a bare integer);
- five systems, each keeping its own subset of fields.

Records are dicts in the shape `stitch()` takes (source, source_id, and contact
fields named as in the canonical contact); `person` is the ground truth.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Iterator

from bench.name_tables import FIRST_NAMES, NICKNAMES, SURNAMES, parse

__all__ = ["zipf_people", "SYSTEMS", "JUNK_EMAILS"]

SYSTEMS = ("crm", "shop", "support", "newsletter", "loyalty")
_PRESENCE = {"crm": 0.6, "shop": 0.55, "support": 0.3, "newsletter": 0.5, "loyalty": 0.3}
JUNK_EMAILS = (
    "noemail@example.com",
    "na@na.com",
    "none@none.com",
    "no@email.com",
    "nomail@gmail.com",
    "x@x.com",
)
_DOMAINS = ("gmail.com", "yahoo.com", "hotmail.com", "aol.com", "outlook.com", "icloud.com", "comcast.net")
_DOMAIN_CUM = list(itertools.accumulate((40, 18, 12, 8, 8, 8, 6)))
_STREETS = (
    "Main Oak Pine Maple Cedar Elm Washington Lake Hill Park Walnut Sunset Lincoln Jackson "
    "Church River Highland Forest Meadow Spring Chestnut Franklin Jefferson Adams Madison "
    "Willow Birch Cherry Hickory Dogwood Mill Center Union Market Railroad Prospect Ridge"
).split()
_SUFFIX = {"St": "Street", "Ave": "Avenue", "Rd": "Road", "Dr": "Drive", "Ln": "Lane", "Ct": "Court"}
_STATES = "CA TX FL NY PA IL OH GA NC MI NJ VA WA AZ MA TN IN MO MD WI CO MN SC AL LA KY OR OK".split()
# Made-up name parts for the tails beyond the tables.
_HEADS = (
    "Ash Bel Cor Dal Fen Gar Hol Kes Lan Mar Nor Pem Quin Rad Sel Tam Var Wex Yar Zel Bran Cal "
    "Dor Elm Far Gil Hart Iv Jar Kel Lor Mor Nash Orr Pren Ros Stan Thorn Ulm Vin Wald"
).split()
_MIDS = ("", "a", "e", "i", "o", "er", "an", "el", "in", "ow", "ing", "am")
_TAILS = (
    "ley ton well berg man son ford wick ridge field stein ez ski ova ani elli by ham more "
    "worth dale land kov ard ick"
).split()
_GIVEN_TAILS = "a ia ella ina ette o us an en on ie y ah is".split()


def _zipf_table(
    head: list[tuple[str, float]], tail: list[str], exponent: float
) -> tuple[list[str], list[float]]:
    """The head's own weights, then the tail continuing the curve from the head's last rank."""
    names = [n for n, _ in head] + tail
    last_rank, last_w = len(head), head[-1][1]
    weights = [w for _, w in head] + [
        last_w * (last_rank / (last_rank + i + 1)) ** exponent for i in range(len(tail))
    ]
    return names, list(itertools.accumulate(weights))


def _made_up(rng: random.Random, size: int, taken: set[str], tails: tuple[str, ...] | list[str]) -> list[str]:
    out: list[str] = []
    while len(out) < size:
        # Past the two-part names, a second head makes the space big enough (Ashton-Kelley).
        name = rng.choice(_HEADS) + rng.choice(_MIDS) + rng.choice(tails)
        if len(out) >= size // 3:
            name = (
                rng.choice(_HEADS)
                + rng.choice(_MIDS).lower()
                + rng.choice(_HEADS).lower()
                + rng.choice(tails)
            )
        if name not in taken:
            taken.add(name)
            out.append(name)
    return out


def _pick(rng: random.Random, cumulative: list[float]) -> int:
    return min(bisect.bisect_left(cumulative, rng.random() * cumulative[-1]), len(cumulative) - 1)


def _typo(rng: random.Random, s: str) -> str:
    if len(s) < 4:
        return s
    i = rng.randrange(1, len(s) - 1)
    roll = rng.random()
    if roll < 0.35:
        return s[:i] + s[i + 1] + s[i] + s[i + 2 :]  # transposition
    if roll < 0.65:
        return s[:i] + rng.choice("aeiounrstl") + s[i + 1 :]  # substitution
    if roll < 0.85:
        return s[:i] + s[i + 1 :]  # dropped letter
    return s[:i] + s[i] + s[i:]  # doubled letter


def phone_spelling(rng: random.Random, digits: str) -> object:
    """One of the ways a ten-digit US number is written."""
    a, b, c = digits[:3], digits[3:6], digits[6:]
    return rng.choice(
        (
            digits,
            f"({a}) {b}-{c}",
            f"{a}.{b}.{c}",
            f"{a}-{b}-{c}",
            f"+1 {a} {b} {c}",
            f"+1{digits}",
            f"1{digits}",
            f"1-{a}-{b}-{c}",
            int(digits),
        )
    )


def _us_number(rng: random.Random) -> str:
    return str(rng.randrange(2_000_000_000, 10_000_000_000))  # an area code never starts with 0 or 1


class _World:
    """Name and place tables, drawn once per seed."""

    def __init__(self, rng: random.Random):
        taken = {n for n, _ in parse(SURNAMES, 2)}
        surnames = [(n, float(k)) for n, k in parse(SURNAMES, 2)]
        self.last, self.last_cum = _zipf_table(surnames, _made_up(rng, 30_000, taken, _TAILS), 1.0)
        self.first: dict[str, tuple[list[str], list[float]]] = {}
        for sex in "FM":
            head = [(n, float(k)) for n, s, k in parse(FIRST_NAMES, 3) if s == sex]
            self.first[sex] = _zipf_table(head, _made_up(rng, 2_000, taken, _GIVEN_TAILS), 1.2)
        # Towns: Zipf sizes, each with a state and a few postcodes.
        towns = _made_up(rng, 600, taken, ("ville", "ton", "field", "burg", " City", " Springs", "port"))
        self.towns = [
            (
                t,
                rng.choice(_STATES),
                [f"{rng.randint(1001, 99950):05d}" for _ in range(1 + 30 // (i + 1) + rng.randint(0, 3))],
            )
            for i, t in enumerate(towns)
        ]
        self.town_cum = list(itertools.accumulate(1.0 / (i + 1) for i in range(len(towns))))
        self.emails: set[str] = set()


def _email_for(rng: random.Random, world: _World, first: str, last: str, born: int) -> str:
    f, la = first.lower(), last.lower()
    local = rng.choice((f"{f}.{la}", f"{f[0]}{la}", f"{f}{la}{born % 100:02d}", f"{f}_{la}", f"{la}{f[0]}"))
    domain = _DOMAINS[bisect.bisect_left(_DOMAIN_CUM, rng.random() * _DOMAIN_CUM[-1])]
    email = f"{local}@{domain}"
    n = 1
    while email in world.emails:  # one mailbox, one person: the truth must not share it
        n += 1
        email = f"{local}{rng.randint(2, 9999) if n > 3 else n}@{domain}"
    world.emails.add(email)
    return email


def _address_variant(rng: random.Random, number: int, street: str, suffix: str) -> str:
    roll = rng.random()
    if roll < 0.2:
        return f"{number} {street} {_SUFFIX[suffix]}"
    if roll < 0.3:
        return f"{number} {street} {suffix}".upper()
    if roll < 0.35:
        return f"{number} {street} {suffix}."
    return f"{number} {street} {suffix}"


def _household(rng: random.Random, world: _World) -> Iterator[dict[str, object]]:
    """Two to five people (or one) at one address; most share a surname, many a landline."""
    size = rng.choices((1, 2, 3, 4, 5), (45, 30, 12, 9, 4))[0]
    family = world.last[_pick(rng, world.last_cum)]
    town, state, postcodes = world.towns[_pick(rng, world.town_cum)]
    home = {
        "number": rng.randint(1, 9999),
        "street": rng.choice(_STREETS),
        "suffix": rng.choice(list(_SUFFIX)),
        "postcode": rng.choice(postcodes),
        "city": town,
        "state": state,
        "landline": _us_number(rng) if rng.random() < 0.4 else None,
    }
    for member in range(size):
        sex = rng.choice("FM")
        names, cum = world.first[sex]
        first = names[_pick(rng, cum)]
        last = family if member == 0 or rng.random() < 0.8 else world.last[_pick(rng, world.last_cum)]
        born = rng.randint(1940, 2006) if member < 2 else rng.randint(1990, 2008)
        yield {
            "first": first,
            "last": last,
            "dob": f"{born}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "email": _email_for(rng, world, first, last, born) if rng.random() < 0.9 else None,
            "mobile": _us_number(rng) if rng.random() < 0.85 else None,
            **home,
        }


def _record(rng: random.Random, system: str, p: int, who: dict[str, object]) -> dict[str, object]:
    first, last = str(who["first"]), str(who["last"])
    nick = NICKNAMES.get(first)
    if nick and system != "crm" and rng.random() < 0.25:
        first = rng.choice(nick)
    if rng.random() < 0.05:
        first = _typo(rng, first)
    if rng.random() < 0.05:
        last = _typo(rng, last)
    rec: dict[str, object] = {"source": system, "source_id": f"{system[:2]}{p}", "person": p}
    if system == "newsletter" and rng.random() < 0.2:  # a list import: a name and nothing else
        rec.update(first_name=first, last_name=last)
        return rec
    rec.update(first_name=first, last_name=last)
    email = who["email"]
    if email is not None:
        roll = rng.random()
        if roll < 0.1:
            email = str(email).upper() if roll < 0.03 else f" {email} "
    if system in ("shop", "support", "loyalty") and rng.random() < 0.04:
        email = rng.choice(JUNK_EMAILS)  # typed at the till so the form would submit
    phone = (
        who["landline"]
        if who["landline"] and (who["mobile"] is None or rng.random() < 0.4)
        else who["mobile"]
    )
    dob = str(who["dob"])
    if rng.random() < 0.03:  # day and month swapped, or one digit off
        y, m, d = dob.split("-")
        dob = f"{y}-{d}-{m}" if int(d) <= 12 else f"{y}-{m}-{int(d) % 28 + 1:02d}"
    postcode = str(who["postcode"])
    if rng.random() < 0.02:
        i = rng.randrange(5)
        postcode = postcode[:i] + str(rng.randint(0, 9)) + postcode[i + 1 :]
    address = _address_variant(rng, int(who["number"]), str(who["street"]), str(who["suffix"]))  # type: ignore[call-overload]
    if system == "crm":
        rec.update(
            email=email,
            phone=phone and phone_spelling(rng, str(phone)),
            address=address,
            postcode=postcode,
            city=who["city"],
            country="US",
        )
        if rng.random() < 0.3:
            rec["date_of_birth"] = dob
    elif system == "shop":
        rec.update(email=email, address=address, postcode=postcode, city=who["city"], country="US")
        if phone and rng.random() < 0.7:
            rec["phone"] = phone_spelling(rng, str(phone))
    elif system == "support":
        rec["email"] = email
        if phone and rng.random() < 0.5:
            rec["phone"] = phone_spelling(rng, str(phone))
    elif system == "newsletter":
        rec["email"] = who["email"]  # the list's own address, never junk: it is what the tool sends to
        if rng.random() < 0.4:
            rec["city"] = who["city"]
    else:  # loyalty: a card at the till, keyed by phone
        rec.update(date_of_birth=dob if rng.random() < 0.9 else None, postcode=postcode)
        if phone:
            rec["phone"] = phone_spelling(rng, str(phone))
        if rng.random() < 0.5:
            rec["email"] = email
    return {k: v for k, v in rec.items() if v is not None}


def zipf_people(persons: int, seed: int = 11) -> Iterator[dict[str, object]]:
    """Yield records for `persons` people (in households); `person` is the ground truth."""
    rng = random.Random(seed)
    world = _World(rng)
    p = 0
    while p < persons:
        for who in _household(rng, world):
            if p >= persons:
                return
            systems = [s for s in SYSTEMS if rng.random() < _PRESENCE[s]] or [rng.choice(SYSTEMS)]
            for system in systems:
                yield _record(rng, system, p, who)
            p += 1
