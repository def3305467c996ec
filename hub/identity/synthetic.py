"""Seeded people spread over the six systems, with the truth kept: for benches and tests.

Each person shows up in some of CRM, email, support, shop, social and consent
records with the variations real data has: email case, Gmail dots and
plus-tags, phone formats, a typo in a name, a changed email address, a shared
role inbox (info@) and a household's shared phone, and social records that
often carry no email or phone (only probabilistic matching can place them).
"""

from __future__ import annotations

import random
from collections.abc import Iterator

__all__ = ["synthetic_people", "SYSTEMS"]

SYSTEMS = ("crm", "email", "support", "shop", "social", "consent")
# Chance that a person has a record in each system.
_PRESENCE = {"crm": 0.6, "email": 0.55, "support": 0.35, "shop": 0.45, "social": 0.2, "consent": 0.3}
# Per system: share of records with a phone, share with a city.
_DETAILS = {
    "crm": (0.6, 0.9),
    "email": (0.3, 0.7),
    "support": (0.5, 0.4),
    "shop": (0.8, 1.0),
    "consent": (0.2, 0.5),
}
_SYLLABLES = [
    "ka",
    "ri",
    "mo",
    "la",
    "ne",
    "so",
    "ta",
    "vi",
    "de",
    "ro",
    "mi",
    "an",
    "el",
    "or",
    "us",
    "ba",
    "ce",
    "du",
    "fa",
    "go",
    "hu",
    "jo",
    "ke",
    "lu",
    "ma",
    "ni",
    "pe",
    "qu",
    "sa",
    "te",
    "wi",
    "ya",
    "zo",
    "bre",
    "cha",
    "dra",
    "fli",
    "gro",
    "kla",
    "pru",
    "sto",
]
_DOMAINS = ["gmail.com", "yahoo.com", "outlook.com", "icloud.com", "proton.me", "gmx.de"]


def _pool(rng: random.Random, size: int, parts: tuple[int, int]) -> list[str]:
    names: set[str] = set()
    while len(names) < size:
        names.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(*parts))).capitalize())
    return sorted(names)


def _typo(rng: random.Random, s: str) -> str:
    if len(s) < 3:
        return s
    i = rng.randrange(1, len(s) - 1)
    if rng.random() < 0.5:
        return s[:i] + s[i + 1] + s[i] + s[i + 2 :]  # transposition
    return s[:i] + rng.choice("aeiounrst") + s[i + 1 :]


def _email_variant(rng: random.Random, email: str) -> str:
    local, domain = email.split("@")
    roll = rng.random()
    if roll < 0.15:
        return email.upper() if rng.random() < 0.3 else email.capitalize()
    if roll < 0.25 and domain == "gmail.com":
        return f"{local.replace('.', '')}@{domain}"
    if roll < 0.32:
        return f"{local}+{rng.choice(['news', 'shop', 'x1'])}@{domain}"
    if roll < 0.36:
        return f"  {email} "
    return email


def _phone_variant(rng: random.Random, digits: str) -> str:
    # digits: a UK mobile without the country code, e.g. 7700912345
    roll = rng.random()
    if roll < 0.4:
        return f"+44{digits}"
    if roll < 0.7:
        return f"0{digits[:4]} {digits[4:]}"
    return f"+44 ({digits[:4]}) {digits[4:7]}-{digits[7:]}"


def synthetic_people(persons: int, seed: int = 7) -> Iterator[dict[str, object]]:
    """Yield records (dicts) for `persons` people; `person` is the ground truth."""
    rng = random.Random(seed)
    firsts = _pool(rng, 4000, (2, 3))
    lasts = _pool(rng, 60000, (2, 4))
    cities = _pool(rng, 800, (2, 3))
    companies = _pool(rng, 20000, (2, 3))
    first_w = [1.0 / (i + 5) for i in range(len(firsts))]  # a few names are common
    last_w = [1.0 / (i + 20) for i in range(len(lasts))]
    first_cum = _cumulative(first_w)
    last_cum = _cumulative(last_w)
    household_phone: str | None = None
    for p in range(persons):
        first = firsts[_pick(rng, first_cum)]
        last = lasts[_pick(rng, last_cum)]
        city = rng.choice(cities)
        postcode = f"{city[:2].upper()}{rng.randint(1, 20)} {rng.randint(1, 9)}{rng.choice('ABDEFGH')}"
        dob = f"{rng.randint(1950, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        personal = f"{first.lower()}.{last.lower()}{rng.randint(1, 999)}@{rng.choice(_DOMAINS)}"
        company = rng.choice(companies).lower()
        work = f"{first[0].lower()}{last.lower()}@{company}.com"
        old_email = (
            f"{first.lower()}{last[:3].lower()}{rng.randint(1, 999)}@{rng.choice(_DOMAINS)}"
            if rng.random() < 0.08
            else None
        )
        phone = f"7{rng.randint(100000000, 999999999)}"
        if rng.random() < 0.01 and household_phone:  # lives with the previous person
            phone = household_phone
        household_phone = phone
        # Most people give one address everywhere; some give a work address to CRM and support.
        work_for = {"crm", "support"} if rng.random() < 0.08 else set()
        systems = [s for s in SYSTEMS if rng.random() < _PRESENCE[s]] or [rng.choice(SYSTEMS)]
        for system in systems:
            name_first = _typo(rng, first) if rng.random() < 0.08 else first
            name_last = _typo(rng, last) if rng.random() < 0.08 else last
            email = work if system in work_for else personal
            if old_email and rng.random() < 0.5:
                email = old_email
            rec: dict[str, object] = {
                "source": system,
                "source_id": f"{system[:2]}{p}",
                "person": p,
                "first_name": name_first,
                "last_name": name_last,
            }
            if system == "social":  # a page fan: a name and a city; a lead form adds an email
                rec["city"] = city if rng.random() < 0.8 else None
                if rng.random() < 0.75:
                    rec["email"] = _email_variant(rng, email)
            else:
                if system == "support" and rng.random() < 0.05:
                    email = f"info@{company}.com"  # wrote in from the shared inbox
                rec["email"] = _email_variant(rng, email) if rng.random() > 0.03 else None
                # Which contact details each system keeps, and how often (merge fields,
                # profile fields, checkout forms).
                phone_share, city_share = _DETAILS[system]
                if rng.random() < phone_share:
                    rec["phone"] = _phone_variant(rng, phone)
                if rng.random() < city_share:
                    rec["city"] = city
                if system == "shop":
                    rec["postcode"] = postcode
                    rec["date_of_birth"] = dob if rng.random() < 0.5 else None
            yield rec


def _cumulative(weights: list[float]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return [x / total for x in out]


def _pick(rng: random.Random, cumulative: list[float]) -> int:
    import bisect

    return min(bisect.bisect_left(cumulative, rng.random()), len(cumulative) - 1)
