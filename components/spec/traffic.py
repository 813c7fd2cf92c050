"""Traffic a model serves and the objectives it must meet (optional: without them replicas stay hand-set)."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from components.spec.base import Spec

Availability = Literal["none", "zone", "region"]


class TokenLengthSpec(Spec):
    """Tokens per request (prompt or completion): mean and an optional 95th percentile."""

    mean: int = Field(ge=1, le=1_000_000)
    """Mean tokens per request (1 to 1,000,000)."""
    p95: int | None = Field(default=None, ge=1, le=1_000_000)
    """95th-percentile tokens per request (at least the mean); default: the mean (fixed-length requests)."""

    @model_validator(mode="after")
    def _order(self) -> "TokenLengthSpec":
        if self.p95 is not None and self.p95 < self.mean:
            raise ValueError(f"p95 {self.p95} is below mean {self.mean}")
        return self

    @property
    def tail(self) -> int:
        """The 95th percentile, or the mean when none is given."""
        return self.p95 or self.mean


class ObjectivesSpec(Spec):
    """Latency and availability objectives the replicas are sized for (streamed responses)."""

    ttft_p95_seconds: float | None = Field(default=None, gt=0, le=600)
    """95th-percentile time to first token, seconds (queueing + prefill, at most 600); none = unconstrained."""
    itl_p95_seconds: float | None = Field(default=None, gt=0, le=10)
    """95th-percentile inter-token latency, seconds (at most 10); none = unconstrained (only the KV cache and
    ``max_num_seqs`` bound the batch)."""
    output_tokens_per_second: float | None = Field(default=None, gt=0, le=10_000)
    """Alternative to ``itl_p95_seconds``: streamed tokens per second each request must see (ITL = 1 / this)."""
    availability: Availability = "none"
    """Failure the fleet must absorb at peak without missing the objectives: ``none``; ``zone`` (lose one zone
    of a pool: capacity x zones / (zones - 1)); ``region`` (lose one of the model's regions: the others carry
    its share; needs pools in two regions or more)."""

    @model_validator(mode="after")
    def _one_itl(self) -> "ObjectivesSpec":
        if self.itl_p95_seconds is not None and self.output_tokens_per_second is not None:
            raise ValueError("set itl_p95_seconds or output_tokens_per_second, not both (ITL = 1 / tokens per second)")
        return self

    @property
    def itl_seconds(self) -> float | None:
        """The inter-token objective in seconds (from either field), None when unconstrained."""
        if self.output_tokens_per_second is not None:
            return 1.0 / self.output_tokens_per_second
        return self.itl_p95_seconds


class TrafficSpec(Spec):
    """Requests a model serves (all of its pools together) and the objectives it must meet."""

    requests_per_day: float | None = Field(default=None, gt=0, le=1e10)
    """Requests per day across every pool of the model (average rate = this / 86,400 s)."""
    peak_requests_per_second: float | None = Field(default=None, gt=0, le=1e6)
    """Peak requests per second across every pool; default: the average rate x ``peak_to_average``."""
    input_tokens: TokenLengthSpec
    """Prompt tokens per request (after the chat template)."""
    output_tokens: TokenLengthSpec
    """Completion tokens per request."""
    peak_to_average: float | None = Field(default=None, ge=1, le=100)
    """Peak rate / average rate (1 to 100); default 2 without ``daily_profile``; not with ``daily_profile``."""
    daily_profile: list[Annotated[float, Field(ge=0, le=1e6)]] | None = Field(default=None, min_length=24, max_length=24)
    """24 hourly weights (UTC hours 0-23, 0 to 1e6 each, any scale) of the daily traffic shape; the peak-to-average
    ratio is max / mean; cost counts burst replicas only for the hours that need them."""
    objectives: ObjectivesSpec = ObjectivesSpec()
    """Latency and availability objectives."""

    @model_validator(mode="after")
    def _rates(self) -> "TrafficSpec":
        if self.requests_per_day is None and self.peak_requests_per_second is None:
            raise ValueError("set requests_per_day or peak_requests_per_second")
        if self.daily_profile is not None:
            if self.peak_to_average is not None:
                raise ValueError("set peak_to_average or daily_profile, not both (the profile implies the ratio)")
            if min(self.daily_profile) < 0 or max(self.daily_profile) <= 0:
                raise ValueError("daily_profile weights must be >= 0 with at least one > 0")
        return self

    @property
    def ratio(self) -> float:
        """Peak / average rate: from the daily profile, the set ratio, or 2."""
        if self.daily_profile is not None:
            return max(self.daily_profile) / (sum(self.daily_profile) / 24)
        return self.peak_to_average or 2.0

    @property
    def average_rps(self) -> float:
        """Average requests per second (from requests_per_day, else the peak / ratio)."""
        if self.requests_per_day is not None:
            return self.requests_per_day / 86_400
        return self.peak_requests_per_second / self.ratio

    @property
    def peak_rps(self) -> float:
        """Peak requests per second (as set, else the average x ratio)."""
        return self.peak_requests_per_second or self.average_rps * self.ratio

    def hourly_rps(self) -> list[float] | None:
        """Requests per second in each of the 24 UTC hours; None without ``daily_profile`` (the hours of the
        peak are then unknown, and cost counts peak capacity around the clock)."""
        if self.daily_profile is None:
            return None
        mean = sum(self.daily_profile) / 24
        return [self.average_rps * w / mean for w in self.daily_profile]
