"""Shared base model and small constrained types for the stack specification."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from components.catalog.vocab import Cloud  # noqa: F401  (re-exported: one definition)

Environment = Literal["dev", "staging", "prod"]
WeightDType = Literal["bf16", "fp16", "fp8", "int8", "int4"]
KvCacheDType = Literal["auto", "fp8"]

# fullmatch, never match + "$": Python's "$" also matches before a trailing newline ("llm\n" passed).
_DNS_LABEL = re.compile(r"[a-z]([a-z0-9-]{0,38}[a-z0-9])?")


def _dns_label(value: str) -> str:
    if not _DNS_LABEL.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a valid name (lowercase letters, digits and '-', "
            "starting with a letter, at most 40 characters)"
        )
    return value


#: Punctuation AWS tag values accept besides letters, digits and spaces.
TAG_PUNCTUATION = "_.:/=+-@"


def _tag_text(value: str) -> str:
    """A tag value: AWS tag values are at most 256 Unicode characters (docs.aws.amazon.com/tag-editor/latest/
    userguide/tagging.html, "Tag naming limits and requirements"); no control, format (bidi) or separator
    characters, no surrounding blanks (they would show as different owners in cost reports)."""
    if not 1 <= len(value) <= 256:
        raise ValueError(f"{value[:40]!r}... has {len(value)} characters (1 to 256: the AWS tag value limit)")
    bad = next((c for c in value if unicodedata.category(c)[0] == "C" or unicodedata.category(c) in ("Zl", "Zp")), None)
    if bad is not None:
        raise ValueError(f"{value!r} contains the control or invisible character U+{ord(bad):04X} "
                         "(printable characters only)")
    if value != value.strip():
        raise ValueError(f"{value!r} has leading or trailing blanks")
    # IAM (the stack tags its roles) is the strictest: Tag Value pattern [\p{L}\p{Z}\p{N}_.:/=+\-@]*
    # (docs.aws.amazon.com/IAM/latest/APIReference/API_Tag.html); CreateRole would refuse anything else mid-apply.
    odd = next((c for c in value if unicodedata.category(c)[0] not in "LNZ" and c not in TAG_PUNCTUATION), None)
    if odd is not None:
        raise ValueError(f"{value!r} contains {odd!r}: AWS tag values allow letters, digits, spaces and "
                         f"{' '.join(TAG_PUNCTUATION)} only")
    return value


def _iso_date(value: object) -> object:
    """Dates are written ``YYYY-MM-DD`` (a number is not a date: pydantic would read it as a Unix time)."""
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)")
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a date ({exc})") from None


#: A short DNS-1123 label used to derive Kubernetes and cloud resource names.
Name = Annotated[str, AfterValidator(_dns_label)]
#: Free text that ends up in tag/label values (owner, cost center).
TagText = Annotated[str, AfterValidator(_tag_text)]
#: A calendar date, ``YYYY-MM-DD``.
Date = Annotated[dt.date, BeforeValidator(_iso_date)]
#: Instances or nodes of one rung/reservation. 450 is the EKS quota "Nodes per managed node group"
#: (docs.aws.amazon.com/eks/latest/userguide/service-quotas.html), the strictest of the four renderings.
NodeCount = Annotated[int, Field(ge=0, le=450)]
PositiveInt = Annotated[int, Field(gt=0, le=1_000_000)]
NonNegativeInt = Annotated[int, Field(ge=0, le=1_000_000)]
#: Replica counts of one model (Kubernetes replicas are int32; the pools' nodes bound them far lower).
Replicas = Annotated[int, Field(ge=0, le=1000)]
#: Context lengths in tokens: 2^24 is above every published context window (Llama 4 Scout: 10M, 2025).
Tokens = Annotated[int, Field(ge=1, le=2**24)]
#: Days of retention/expiry settings (ten years).
Days = Annotated[int, Field(ge=1, le=3650)]


class Spec(BaseModel):
    """Base of every spec: unknown keys are errors, parsed specs are immutable, and types are strict.

    Strict: ``true`` is not the number 1 and ``"3"`` is not 3 (the CLI's string encoding is decoded
    before validation, see ``components/spec/load.py``); NaN and infinities are refused.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False,
                              use_attribute_docstrings=True)
