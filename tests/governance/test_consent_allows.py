"""`consent_allows`, the one answer the read API and the govern step share, as a table."""

from __future__ import annotations

import pytest

from hub.errors import ConfigError
from hub.governance import GovernanceConfig, consent_allows

CONFIG = GovernanceConfig.model_validate(
    {
        "purposes": {
            "email_marketing": {"consent": ["newsletter", "offers"]},
            "support": {"consent": "none"},
        },
        "regions": {
            "eu": {"countries": ["DE"], "consent": "opt_in", "send_to": ["eu"]},
            "us": {"countries": ["US"], "consent": "opt_out", "send_to": ["us", "eu"]},
        },
    }
)


def c(purpose: str, event: str, at: str) -> dict[str, str]:
    return {"purpose": purpose, "event": event, "occurred_at": f"2025-01-0{at}T10:00:00+00:00"}


@pytest.mark.parametrize(
    ("consents", "purpose", "region", "allowed"),
    [
        ([c("newsletter", "granted", "1")], "email_marketing", "eu", True),
        ([], "email_marketing", "eu", False),  # opt-in: nothing recorded denies
        ([], "email_marketing", "us", True),  # opt-out: nothing recorded allows
        ([c("newsletter", "pending", "1")], "email_marketing", "eu", False),
        ([c("newsletter", "pending", "1")], "email_marketing", "us", True),
        (
            [c("newsletter", "granted", "1"), c("newsletter", "withdrawn", "2")],
            "email_marketing",
            "us",
            False,
        ),
        ([c("newsletter", "withdrawn", "1"), c("offers", "granted", "2")], "email_marketing", "eu", True),
        (
            [c("newsletter", "granted", "1"), c("newsletter", "withdrawn", "1")],
            "email_marketing",
            "us",
            False,
        ),
        ([c("other", "granted", "1")], "email_marketing", "eu", False),  # another purpose's consent
        ([c("newsletter", "granted", "1")], "email_marketing", None, True),  # unknown: strictest = opt-in
        ([], "email_marketing", None, False),
        ([], "support", "eu", True),  # needs no consent
    ],
)
def test_consent_allows(
    consents: list[dict[str, str]], purpose: str, region: str | None, allowed: bool
) -> None:
    assert consent_allows(consents, purpose, region, CONFIG) is allowed


def test_an_unknown_purpose_is_an_error_not_a_yes() -> None:
    with pytest.raises(ConfigError, match="unknown purpose `ads`"):
        consent_allows([], "ads", "eu", CONFIG)
