"""Value checks of single settings against the strictest place each value is used (each rule cites it)."""
from __future__ import annotations

import ipaddress
import re
from typing import Annotated

from pydantic import AfterValidator

from components.spec.network import ipv4_cidr, private_cidr, private_range  # noqa: F401 (one import for callers)
from components.spec.schedule import cron, time_zone  # noqa: F401
from components.catalog.vocab import AWS, Cloud

# Hugging Face revisions: a 40-hex commit, or a tag/branch name without whitespace, path separators or "..".
# The revision reaches a root shell script, S3/GCS object prefixes, IAM/GCS prefix conditions and vLLM's
# --model path, so it is one path segment of safe characters (git-check-ref-format refuses "..", "@{", ...).
_REVISION = re.compile(r"[0-9a-f]{40}|[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
# huggingface_hub validate_repo_id (utils/_validators.py): [\w.-]{1,96} per part, no "--" or "..", no
# leading/trailing "-" or "."; ASCII only here (the id becomes a bucket prefix).
_HF_PART = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?")


def revision(value: str) -> str:
    """A pinned Hugging Face revision."""
    if value.lower() in ("main", "master", "latest", "head"):
        raise ValueError(f"{value!r} floats; pin a commit sha or a release tag")
    if not _REVISION.fullmatch(value) or ".." in value:
        raise ValueError(f"{value!r} is not a revision (a 40-hex commit sha, or a tag of letters, digits, "
                         "'.', '_' and '-' up to 128 characters, without '/', whitespace or '..')")
    return value


def hf_repo(value: str) -> str:
    """A Hugging Face repository id ``owner/name``."""
    parts = value.split("/")
    if len(parts) != 2 or not all(_HF_PART.fullmatch(p) for p in parts) or "--" in value or ".." in value:
        raise ValueError(f"{value!r} is not a Hugging Face repo id (owner/name: letters, digits, '_', '.', '-', "
                         "at most 96 characters each, no '--' or '..')")
    return value


def vllm_version(value: str) -> str:
    """A vLLM release tag of the vllm/vllm-openai image, e.g. ``v0.15.1`` (never ``latest``)."""
    # Image tags of vllm/vllm-openai are the release tags, "v" included (versions file: v0.15.1).
    if not re.fullmatch(r"v\d{1,3}\.\d{1,3}\.\d{1,3}(\.post\d{1,3}|rc\d{1,3})?", value):
        raise ValueError(f"{value!r} is not a vLLM release tag (e.g. 'v0.15.1'; floating tags like 'latest' are refused)")
    return value


def kubernetes_minor(value: str) -> str:
    """A Kubernetes minor version ``1.NN`` that EKS still runs."""
    match = re.fullmatch(r"1\.(\d{2})", value)
    # Amazon EKS Kubernetes release calendar (docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html,
    # checked 2026-11): 1.29 is the oldest minor in extended support; the plan also requires the minor the
    # versions file pins add-ons for (components/plan/validation.py).
    if not match or not 29 <= int(match.group(1)) <= 99:
        raise ValueError(f"{value!r} is not a supported Kubernetes minor (\"1.29\" or later, as \"1.NN\")")
    return value


# S3 general purpose bucket naming rules (docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html).
_S3_RESERVED = (("xn--", "sthree-", "amzn-s3-demo-"), ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"))


def _ip_like(value: str) -> bool:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return False
    return True


def s3_bucket(value: str) -> str:
    """An S3 bucket name."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", value) or ".." in value or _ip_like(value) \
            or value.startswith(_S3_RESERVED[0]) or value.endswith(_S3_RESERVED[1]):
        raise ValueError(f"{value!r} is not an S3 bucket name (3-63 lowercase letters, digits, '.', '-'; starts and "
                         "ends with a letter or digit; no '..', IP form, 'xn--'/'sthree-' prefix or '-s3alias' suffix)")
    return value


def gcs_bucket(value: str) -> str:
    """A GCS bucket name without dots (cloud.google.com/storage/docs/buckets#naming: 3-63 characters,
    lowercase letters, digits, '-', '_', starts and ends with a letter or digit, no 'goog' prefix, no 'google')."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]", value) or value.startswith("goog") or "google" in value:
        raise ValueError(f"{value!r} is not a GCS bucket name (3-63 lowercase letters, digits, '-', '_'; starts and "
                         "ends with a letter or digit; no 'goog' prefix or 'google')")
    return value


# KMS key ARN / alias ARN (AWS KMS developer guide, "Key identifiers": key ids are UUIDs or mrk-<32 hex>).
_KMS_ARN = re.compile(r"arn:aws(-cn|-us-gov)?:kms:[a-z]{2}(-[a-z]+)+-\d:\d{12}:"
                      r"(key/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})"
                      r"|alias/[A-Za-z0-9/_-]{1,250})")
# Cloud KMS key resource name (cloud.google.com/kms/docs/resource-hierarchy: ids [a-zA-Z0-9_-]{1,63}).
_GCP_KMS = re.compile(r"projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/locations/[a-z0-9-]{1,63}/keyRings/[A-Za-z0-9_-]{1,63}"
                      r"/cryptoKeys/[A-Za-z0-9_-]{1,63}")


def aws_kms_key(value: str) -> str:
    """An AWS KMS key ARN or alias ARN."""
    if not _KMS_ARN.fullmatch(value):
        raise ValueError(f"{value!r} is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key id> or .../alias/<name>)")
    return value


def gcp_kms_key(value: str) -> str:
    """A Cloud KMS crypto key resource name."""
    if not _GCP_KMS.fullmatch(value):
        raise ValueError(f"{value!r} is not a Cloud KMS key "
                         "(projects/<project>/locations/<location>/keyRings/<ring>/cryptoKeys/<key>)")
    return value


# ACM certificate ARN (AWS ACM API reference, CertificateArn: arn:aws:acm:region:account:certificate/<uuid>);
# a GCP Compute SSL certificate name is an RFC 1035 label of at most 63 characters.
_ACM_ARN = re.compile(r"arn:aws(-cn|-us-gov)?:acm:[a-z]{2}(-[a-z]+)+-\d:\d{12}:certificate/[0-9A-Za-z-]{1,128}")
_RFC1035 = re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?")


def certificate(value: str) -> str:
    """An ACM certificate ARN or a GCP managed certificate name."""
    if not (_ACM_ARN.fullmatch(value) or _RFC1035.fullmatch(value)):
        raise ValueError(f"{value!r} is neither an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/"
                         "<uuid>) nor a GCP certificate name (lowercase RFC 1035 label, at most 63 characters)")
    return value


def hostname(value: str) -> str:
    """A DNS name (RFC 1123: labels of at most 63 characters, at most 253 in total)."""
    label = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
    if len(value) > 253 or not re.fullmatch(rf"{label}(\.{label})+", value):
        raise ValueError(f"{value!r} is not a DNS name (lowercase labels of letters, digits and '-', dot separated)")
    return value


def http_header(value: str) -> str:
    """An HTTP header name (RFC 9110 token; matched case-insensitively)."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]{0,62}", value):
        raise ValueError(f"{value!r} is not a header name (letters, digits and '-', at most 63)")
    return value


def repo_path(value: str) -> str:
    """A repository-relative file path: no absolute path, no '..', no hidden or odd characters."""
    parts = value.split("/")
    if len(value) > 255 or not all(re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9._-]*", p) for p in parts) \
            or any(p in (".", "..") for p in parts):
        raise ValueError(f"{value!r} is not a repository-relative path (segments of letters, digits, '.', '_', '-'; "
                         "no leading '/', no '..')")
    return value


def zone_of_region(zone: str, region: str, cloud: Cloud) -> bool:
    """True when ``zone`` is a zone name of ``region`` (AWS ``us-east-1a``; GCP ``us-central1-a``)."""
    if cloud == AWS:
        return re.fullmatch(re.escape(region) + r"[a-z]", zone) is not None
    return re.fullmatch(re.escape(region) + r"-[a-z]", zone) is not None


AWS_REGION = re.compile(r"[a-z]{2}(-gov)?-[a-z]+-\d")
GCP_REGION = re.compile(r"[a-z]+-[a-z]+\d{1,2}")


def any_region(value: str) -> str:
    """An AWS or GCP region name (the cloud's section checks which)."""
    if not (AWS_REGION.fullmatch(value) or GCP_REGION.fullmatch(value)):
        raise ValueError(f"{value!r} is not a region name (e.g. 'us-east-1' or 'us-central1')")
    return value


def aws_region(value: str) -> str:
    """An AWS region name, e.g. ``us-east-1``."""
    if not AWS_REGION.fullmatch(value):
        raise ValueError(f"{value!r} is not an AWS region name (e.g. 'us-east-1')")
    return value


def gcp_region(value: str) -> str:
    """A GCP region name, e.g. ``us-central1``."""
    if not GCP_REGION.fullmatch(value):
        raise ValueError(f"{value!r} is not a GCP region name (e.g. 'us-central1')")
    return value


def gcp_project(value: str) -> str:
    """A GCP project id (6-30 lowercase letters, digits, '-', starting with a letter)."""
    if not re.fullmatch(r"[a-z][a-z0-9-]{4,28}[a-z0-9]", value):
        raise ValueError(f"{value!r} is not a GCP project id (6-30 lowercase letters, digits, '-', starting with a letter)")
    return value


def machine_type(value: str) -> str:
    """An instance or machine type name (the catalog check names unknown ones)."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{0,62}", value):
        raise ValueError(f"{value!r} is not an instance or machine type name")
    return value


def aws_id(prefix: str):
    """A validator of AWS resource ids ``<prefix>-<hex>`` (vpc-, subnet-): AWS issues 8 or 17 hex digits; up to 17
    are accepted (short test ids stay usable), never other characters."""
    def check(value: str) -> str:
        if not re.fullmatch(rf"{prefix}-[0-9a-f]{{1,17}}", value):
            raise ValueError(f"{value!r} is not an id of the form {prefix}-<8 or 17 hex digits>")
        return value
    return check


def iam_role_arn(value: str) -> str:
    """An IAM role ARN (optionally with a path): what an assumed-role CI job authenticates to EKS as."""
    if not re.fullmatch(r"arn:aws(-cn|-us-gov)?:iam::\d{12}:role/[\w+=,.@/-]{1,512}", value):
        raise ValueError(f"{value!r} is not an IAM role ARN (arn:aws:iam::<12-digit account>:role/[<path>/]<name>)")
    return value


def iam_arn(value: str) -> str:
    """An IAM role or user ARN."""
    if not re.fullmatch(r"arn:aws(-cn|-us-gov)?:iam::\d{12}:(role|user)/[\w+=,.@/-]{1,512}", value):
        raise ValueError(f"{value!r} is not an IAM role or user ARN (arn:aws:iam::<account>:role/<name>)")
    return value


Revision = Annotated[str, AfterValidator(revision)]
