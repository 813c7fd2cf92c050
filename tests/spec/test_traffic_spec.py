"""Traffic and objectives per model (issue 20 item 1): optional, validated with the key path, rates derived once."""
from __future__ import annotations

import copy

import pytest

from components.spec import ConfigError, load_stack_spec
from tests.conftest import encode, raw_stack

TRAFFIC = {"requests_per_day": 864_000, "input_tokens": {"mean": 1000, "p95": 3000},
           "output_tokens": {"mean": 300}, "objectives": {"ttft_p95_seconds": 3, "itl_p95_seconds": 0.05}}


def _load(traffic):
    raw = copy.deepcopy(raw_stack("prod"))
    raw["gpuinfra:models"][0]["traffic"] = traffic
    config, secrets = encode(raw)
    return load_stack_spec(config, secrets)


def test_without_traffic_nothing_changes():
    raw = copy.deepcopy(raw_stack("dev"))
    raw["gpuinfra:models"][0].pop("traffic", None)
    config, secrets = encode(raw)
    model = load_stack_spec(config, secrets).models[0]
    assert model.traffic is None


def test_rates_from_requests_per_day_and_profile():
    t = _load({**TRAFFIC, "daily_profile": [1] * 12 + [3] * 12}).models[0].traffic
    assert t.average_rps == pytest.approx(10.0)            # 864,000 / 86,400
    assert t.ratio == pytest.approx(1.5)                    # max 3 / mean 2
    assert t.peak_rps == pytest.approx(15.0)
    assert t.hourly_rps()[0] == pytest.approx(5.0) and t.hourly_rps()[23] == pytest.approx(15.0)
    assert t.input_tokens.tail == 3000 and t.output_tokens.tail == 300


def test_tokens_per_second_is_an_itl():
    t = _load({**TRAFFIC, "objectives": {"output_tokens_per_second": 20}}).models[0].traffic
    assert t.objectives.itl_seconds == pytest.approx(0.05)


# (traffic, key path fragment, words): each is refused with one line naming the key.
BAD = [
    ({k: v for k, v in TRAFFIC.items() if k != "requests_per_day"}, "models[0].traffic", "requests_per_day"),
    ({**TRAFFIC, "input_tokens": {"mean": 500, "p95": 100}}, "models[0].traffic.input_tokens", "below mean"),
    ({**TRAFFIC, "peak_to_average": 2, "daily_profile": [1] * 24}, "models[0].traffic", "not both"),
    ({**TRAFFIC, "daily_profile": [1] * 23}, "models[0].traffic.daily_profile", "24"),
    ({**TRAFFIC, "objectives": {"itl_p95_seconds": 0.05, "output_tokens_per_second": 20}},
     "models[0].traffic.objectives", "not both"),
    ({**TRAFFIC, "objectives": {"availability": "planet"}}, "models[0].traffic.objectives.availability", "zone"),
]


@pytest.mark.parametrize("traffic, path, words", BAD)
def test_bad_traffic_is_refused_with_its_key(traffic, path, words):
    with pytest.raises(ConfigError) as err:
        _load(traffic)
    assert path in err.value.path and words in str(err.value)
