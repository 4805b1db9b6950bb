"""When a failed delivery is tried again.

The default schedule waits 10 s, 1 min, 5 min, 30 min, 2 h, 6 h, 12 h and
24 h between attempts, so a delivery gets 9 attempts spread over about
45 hours. Counted from the first attempt, the retries start at 0:00:10,
0:01:10, 0:06:10, 0:36:10, 2:36, 8:36, 20:36 and 44:36. The short early waits ride out a lock conflict or a dropped
connection; the long tail outlasts a receiver that is down over a weekend
night or a Salesforce maintenance window, without hammering it meanwhile.

Each wait is stretched or shrunk by up to 20 % at random, so deliveries that
failed together (a receiver outage) do not all come back in the same second.

An account can override the schedule (``account.retry_policy``) and a design
can override the account's (``design.retry_policy``), both as
``{"delays_seconds": [10, 60, ...], "jitter": 0.2}``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections.abc import Mapping
from typing import Any

from docrelay.errors import ValidationError

DEFAULT_DELAYS_SECONDS: tuple[float, ...] = (10, 60, 300, 1800, 7200, 21600, 43200, 86400)
MAX_DELAYS = 50


@dataclasses.dataclass(frozen=True, slots=True)
class RetryPolicy:
    """A retry schedule: the wait after each failed attempt, and the jitter applied to it.

    ``delays_seconds[i]`` is the wait after attempt ``i + 1``; a policy with
    ``n`` delays allows ``n + 1`` attempts.
    """

    delays_seconds: tuple[float, ...] = DEFAULT_DELAYS_SECONDS
    jitter: float = 0.2

    @property
    def max_attempts(self) -> int:
        return len(self.delays_seconds) + 1

    def next_attempt(
        self, attempt_number: int, now: dt.datetime, rng: random.Random
    ) -> dt.datetime | None:
        """Return when to try again after attempt ``attempt_number`` (1-based) failed.

        Returns None when that attempt was the last one the policy allows.
        """
        if attempt_number < 1:
            raise ValueError("attempt_number starts at 1")
        if attempt_number > len(self.delays_seconds):
            return None
        delay = self.delays_seconds[attempt_number - 1]
        factor = 1.0 + rng.uniform(-self.jitter, self.jitter) if self.jitter else 1.0
        return now + dt.timedelta(seconds=delay * factor)

    def as_dict(self) -> dict[str, Any]:
        return {"delays_seconds": list(self.delays_seconds), "jitter": self.jitter}

    @classmethod
    def from_dict(cls, value: Mapping[str, Any], field: str = "retry_policy") -> RetryPolicy:
        """Build a policy from its stored form; raise ValidationError naming ``field`` when invalid."""
        if not isinstance(value, Mapping):
            raise ValidationError.for_field(
                field, 'must be an object such as {"delays_seconds": [10, 60], "jitter": 0.2}'
            )
        unknown = set(value) - {"delays_seconds", "jitter"}
        if unknown:
            raise ValidationError.for_field(
                field, f"unknown keys {sorted(unknown)}; allowed: delays_seconds, jitter"
            )
        delays = value.get("delays_seconds", list(DEFAULT_DELAYS_SECONDS))
        if (
            not isinstance(delays, list)
            or len(delays) > MAX_DELAYS
            or not all(
                isinstance(item, int | float) and not isinstance(item, bool) and item >= 0
                for item in delays
            )
        ):
            raise ValidationError.for_field(
                f"{field}.delays_seconds",
                f"must be a list of at most {MAX_DELAYS} non-negative numbers of seconds",
            )
        jitter = value.get("jitter", 0.2)
        if not isinstance(jitter, int | float) or isinstance(jitter, bool) or not 0 <= jitter < 1:
            raise ValidationError.for_field(
                f"{field}.jitter", "must be a number from 0 up to (not including) 1"
            )
        return cls(delays_seconds=tuple(float(item) for item in delays), jitter=float(jitter))


DEFAULT_POLICY = RetryPolicy()


def effective_policy(
    account_policy: Mapping[str, Any] | None, design_policy: Mapping[str, Any] | None
) -> RetryPolicy:
    """Return the design's override, else the account's, else the default schedule."""
    if design_policy:
        return RetryPolicy.from_dict(design_policy)
    if account_policy:
        return RetryPolicy.from_dict(account_policy)
    return DEFAULT_POLICY
