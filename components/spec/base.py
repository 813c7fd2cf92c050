"""Shared base model and small constrained types for the stack specification."""
from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

Cloud = Literal["aws", "gcp"]
Environment = Literal["dev", "staging", "prod"]
WeightDType = Literal["bf16", "fp16", "fp8", "int8", "int4"]
KvCacheDType = Literal["auto", "fp8"]

_DNS_LABEL = re.compile(r"^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$")


def _dns_label(value: str) -> str:
    if not _DNS_LABEL.match(value):
        raise ValueError(
            f"{value!r} is not a valid name (lowercase letters, digits and '-', "
            "starting with a letter, at most 40 characters)"
        )
    return value


#: A short DNS-1123 label used to derive Kubernetes and cloud resource names.
Name = Annotated[str, AfterValidator(_dns_label)]
PositiveInt = Annotated[int, Field(gt=0)]
NonNegativeInt = Annotated[int, Field(ge=0)]


class Spec(BaseModel):
    """Base of every spec: unknown keys are errors and parsed specs are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False, use_attribute_docstrings=True)
