"""Schedule values: cron expressions as KEDA's cron scaler parses them, IANA time zones."""
from __future__ import annotations

import re
import zoneinfo
from functools import lru_cache
from typing import Annotated

from pydantic import AfterValidator


@lru_cache(maxsize=1)
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) | {"UTC"}


def time_zone(value: str) -> str:
    """An IANA time zone name (KEDA's cron scaler loads it with Go's time.LoadLocation)."""
    if value not in _time_zones():
        from components.spec.errors import close_matches  # noqa: PLC0415

        hint = close_matches(value, sorted(_time_zones()), n=1)
        did = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise ValueError(f"{value!r} is not an IANA time zone{did}, e.g. 'UTC' or 'Europe/Paris'")
    return value


# KEDA's cron scaler parses start/end with robfig/cron/v3 and Minute|Hour|Dom|Month|Dow
# (kedacore/keda pkg/scalers/cron_scaler.go): five fields, these bounds, names for months and weekdays.
_CRON_FIELDS = (("minute", 0, 59, ()), ("hour", 0, 23, ()), ("day of month", 1, 31, ()),
                ("month", 1, 12, ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")),
                ("day of week", 0, 6, ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")))


def _cron_number(text: str, low: int, names: tuple[str, ...]) -> int:
    if text.upper() in names:
        return names.index(text.upper()) + low
    if not re.fullmatch(r"\d{1,2}", text):
        raise ValueError(text)
    return int(text)


def _cron_field(text: str, low: int, high: int, names: tuple[str, ...]) -> None:
    for part in text.split(","):
        span, _, step = part.partition("/")
        if step and (not re.fullmatch(r"\d{1,2}", step) or int(step) == 0):
            raise ValueError(part)
        if span in ("*", "?"):
            continue
        first, dash, last = span.partition("-")
        lo = _cron_number(first, low, names)
        hi = _cron_number(last, low, names) if dash else lo
        if not low <= lo <= hi <= high or (step and not dash):
            raise ValueError(part)


def cron(value: str) -> str:
    """A five-field cron expression as KEDA's cron scaler accepts it."""
    fields = value.split(" ")
    if len(fields) != 5:
        raise ValueError(f"{value!r} is not a 5-field cron expression (minute hour day-of-month month day-of-week)")
    for text, (what, low, high, names) in zip(fields, _CRON_FIELDS):
        try:
            _cron_field(text, low, high, names)
        except ValueError:
            raise ValueError(f"{value!r}: {what} field {text!r} is not valid ({low}-{high}, '*', ranges a-b, "
                             "steps /n, lists a,b)") from None
    return value


TimeZone = Annotated[str, AfterValidator(time_zone)]
Cron = Annotated[str, AfterValidator(cron)]
