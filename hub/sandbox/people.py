"""Seeded synthetic people and companies, with the messiness real systems have.

The same seed gives the same people in every system the sandbox emulates, so
identity stitching has real work: emails differ in case, dots and plus-tags,
phones come in several formats, some people share an `info@` address and some
have no email at all.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = ["Person", "Company", "generate", "EPOCH"]

# Data is stamped in the two years before this instant.
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)

FIRST = (
    "Ann Bo Cara Dev Eli Fay Gus Hana Ivo Jade Kai Lea Mo Nia Omar Pia Quin Rae Sam "
    "Tia Uma Vik Wes Xia Yan Zoe Liam Emma Noah Olivia Ava Lucas Mia Ethan Sofia Mateo "
    "Aria Leo Nora Hugo Ines Jonas Elif Arjun Mei Kofi Amara Sven Ingrid"
).split()
LAST = (
    "Smith Jones Garcia Muller Rossi Silva Kim Nguyen Patel Cohen Novak Dubois Larsen "
    "Okafor Tanaka Ivanova Santos Murphy Kowalski Haddad Berg Costa Moreau Fischer "
    "Schmidt Lopez Chen Wang Singh Brown Taylor Wilson Martin Clark Lewis Walker Young "
    "Allen King Wright Scott Green Baker Adams Nelson Hill Campbell"
).split()
CITIES = (
    ("Boston", "United States"),
    ("Austin", "United States"),
    ("Denver", "United States"),
    ("Seattle", "United States"),
    ("Toronto", "Canada"),
    ("London", "United Kingdom"),
    ("Berlin", "Germany"),
    ("Lisbon", "Portugal"),
    ("Oslo", "Norway"),
    ("Sydney", "Australia"),
)
INDUSTRIES = (
    "RETAIL",
    "SOFTWARE",
    "MARKETING_AND_ADVERTISING",
    "FOOD_BEVERAGES",
    "APPAREL",
    "HOSPITALITY",
    "FINANCIAL_SERVICES",
    "HEALTH_WELLNESS_AND_FITNESS",
)
WORDS = (
    "North Blue Bright Oak River Stone Pixel Cedar Summit Harbor Maple Iron Silver "
    "Golden Urban Prairie Coastal Alpine Lumen Nova"
).split()
SUFFIX = ("Labs", "Goods", "Outfitters", "Studio", "Foods", "Supply", "Works", "Co")
STAGES = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
)
MAIL_PROVIDERS = ("gmail.com", "outlook.com", "yahoo.com", "icloud.com", "proton.me")


@dataclass(frozen=True)
class Company:
    index: int
    name: str
    domain: str
    industry: str
    phone: str
    city: str
    country: str
    employees: int
    revenue: float
    created: datetime
    updated: datetime


@dataclass(frozen=True)
class Person:
    index: int
    first: str
    last: str
    email: str | None  # as the CRM holds it: messy on purpose
    phone: str  # may be ""
    city: str
    country: str
    company: int  # index into companies
    stage: str
    created: datetime
    updated: datetime


def _phone(rng: random.Random) -> tuple[str, str]:
    """A US number and one of the ways people type it."""
    area, line = rng.randint(201, 989), rng.randint(0, 9999)
    exchange = rng.randint(200, 999)
    digits = f"{area}{exchange}{line:04d}"
    style = rng.randrange(6)
    formatted = [
        f"+1 {area}-{exchange}-{line:04d}",
        f"({area}) {exchange} {line:04d}",
        digits,
        f"1-{area}-{exchange}-{line:04d}",
        f"{area}.{exchange}.{line:04d}",
        "",
    ][style]
    return digits, formatted


def _email(rng: random.Random, first: str, last: str, company: Company) -> str | None:
    roll = rng.random()
    if roll < 0.04:
        return None
    if roll < 0.06:
        return f"info@{company.domain}"  # a shared inbox: must never merge people
    local = rng.choice(
        [f"{first}.{last}", f"{first}{last}", f"{first[0]}{last}", f"{first}_{last}{rng.randint(1, 99)}"]
    ).lower()
    domain = company.domain if rng.random() < 0.5 else rng.choice(MAIL_PROVIDERS)
    if domain == "gmail.com" and rng.random() < 0.3:
        local = local.replace(".", "") if "." in local else local[:2] + "." + local[2:]
    if rng.random() < 0.05:
        local += f"+{rng.choice(['news', 'shop', 'crm'])}"
    email = f"{local}@{domain}"
    if rng.random() < 0.1:
        email = email.title() if rng.random() < 0.5 else f" {email.upper()} "
    return email


def _stamp(rng: random.Random, span_days: int = 730) -> tuple[datetime, datetime]:
    created = EPOCH - timedelta(days=span_days, seconds=-rng.randrange(span_days * 86400))
    created = created.replace(microsecond=rng.randrange(1000) * 1000)
    updated = created + timedelta(seconds=rng.randrange(max(1, int((EPOCH - created).total_seconds()))))
    return created, updated.replace(microsecond=rng.randrange(1000) * 1000)


def generate(seed: int, people: int) -> tuple[list[Person], list[Company]]:
    """`people` persons and a tenth as many companies; the same for the same arguments."""
    persons, companies = _generated(seed, people)
    return list(persons), list(companies)


@functools.lru_cache(maxsize=2)
def _generated(seed: int, people: int) -> tuple[tuple[Person, ...], tuple[Company, ...]]:
    # Every emulated system starts from the same people: made once per sandbox, not six
    # times (two thirds of building a sandbox went here). Frozen, so sharing is safe.
    rng = random.Random(seed)
    companies = []
    for i in range(max(1, people // 10)):
        name = f"{rng.choice(WORDS)} {rng.choice(WORDS)} {rng.choice(SUFFIX)}"
        domain = name.lower().replace(" ", "") + f"{i}.example.com"
        city, country = rng.choice(CITIES)
        created, updated = _stamp(rng)
        companies.append(
            Company(
                i,
                name,
                domain,
                rng.choice(INDUSTRIES),
                _phone(rng)[1],
                city,
                country,
                rng.randint(2, 5000),
                round(rng.uniform(1e5, 5e7), 2),
                created,
                updated,
            )
        )
    persons: list[Person] = []
    mailboxes: set[str] = set()
    for i in range(people):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        company = companies[rng.randrange(len(companies))]
        city, country = rng.choice(CITIES)
        created, updated = _stamp(rng)
        if i % 50 == 1:
            updated = persons[-1].updated  # ties on the cursor field, as real data has
        email = _email(rng, first, last, company)
        persons.append(
            Person(
                i,
                first,
                last,
                _own_mailbox(email, i, mailboxes),
                _phone(rng)[1],
                city,
                country,
                company.index,
                rng.choice(STAGES),
                min(created, updated),
                updated,
            )
        )
    return tuple(persons), tuple(companies)


def _own_mailbox(email: str | None, i: int, taken: set[str]) -> str | None:
    """Two people never share a personal mailbox (a shared info@ inbox is the point of those).

    Namesakes would otherwise get one address (acosta@outlook.com for Arjun and
    Aria Costa), and the truth tests score stitching against would be wrong."""
    from hub.identity.normalize import normalize_email

    box = normalize_email(email)
    if email is None or box is None or box.startswith("info@"):
        return email
    if box in taken:
        local, _, domain = email.partition("@")
        base, plus, tag = local.partition("+")
        email = f"{base}{i}{plus}{tag}@{domain}"
        box = normalize_email(email) or email
    taken.add(box)
    return email
