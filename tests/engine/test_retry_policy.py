"""The retry schedule as a pure function."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from docrelay.delivery.retry import DEFAULT_POLICY, RetryPolicy, effective_policy
from docrelay.errors import ValidationError

NOW = dt.datetime(2026, 1, 5, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("attempt", "seconds"),
    [
        (1, 10),  # a lock conflict or dropped connection
        (2, 60),
        (3, 300),
        (4, 1800),
        (5, 7200),
        (6, 21600),
        (7, 43200),
        (8, 86400),  # the last wait; attempt 9 is the last one
    ],
)
def test_default_schedule_without_jitter(attempt: int, seconds: int) -> None:
    policy = RetryPolicy(jitter=0)
    assert policy.next_attempt(attempt, NOW, random.Random(1)) == NOW + dt.timedelta(
        seconds=seconds
    )


def test_default_policy_allows_nine_attempts() -> None:
    assert DEFAULT_POLICY.max_attempts == 9
    assert DEFAULT_POLICY.next_attempt(9, NOW, random.Random(1)) is None


def test_total_span_is_about_45_hours() -> None:
    total = sum(DEFAULT_POLICY.delays_seconds)
    assert 44 * 3600 < total < 45 * 3600


def test_jitter_stays_within_twenty_percent() -> None:
    rng = random.Random(7)
    waits = [(DEFAULT_POLICY.next_attempt(4, NOW, rng) - NOW).total_seconds() for _ in range(500)]  # type: ignore[operator]
    assert min(waits) >= 1800 * 0.8
    assert max(waits) <= 1800 * 1.2
    assert max(waits) - min(waits) > 1800 * 0.3


def test_design_override_beats_account_override() -> None:
    policy = effective_policy({"delays_seconds": [5]}, {"delays_seconds": [1, 2], "jitter": 0})
    assert policy.delays_seconds == (1.0, 2.0)
    assert effective_policy({"delays_seconds": [5]}, None).delays_seconds == (5.0,)
    assert effective_policy(None, None) is DEFAULT_POLICY


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"delays_seconds": "10"}, "retry_policy.delays_seconds"),
        ({"delays_seconds": [-1]}, "retry_policy.delays_seconds"),
        ({"jitter": 1.5}, "retry_policy.jitter"),
        ({"attempts": 3}, "retry_policy"),
    ],
)
def test_invalid_policy_names_field(value: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        RetryPolicy.from_dict(value)
    assert caught.value.errors[0][0] == field
