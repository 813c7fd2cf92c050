"""IAM and S3 bucket policy documents for the model-weights bucket (pure data)."""
from __future__ import annotations

from typing import Any

Policy = dict[str, Any]

_VERSION = "2012-10-17"
# Object actions an uploader needs for single-part and multipart uploads; no DeleteObject/DeleteObjectVersion so
# an uploader can never destroy a published revision (versioning keeps overwritten objects as noncurrent).
_WRITE_OBJECT_ACTIONS = ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts", "s3:GetObject"]
_WRITE_BUCKET_ACTIONS = ["s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:GetBucketLocation"]


def _doc(statements: list[Policy]) -> Policy:
    return {"Version": _VERSION, "Statement": statements}


def _kms_statements(kms_key_arn: str | None, actions: list[str]) -> list[Policy]:
    if not kms_key_arn:
        return []
    return [{"Sid": "UseWeightsKey", "Effect": "Allow", "Action": actions, "Resource": [kms_key_arn]}]


def bucket_policy(bucket_arn: str, require_tls12: bool = True) -> Policy:
    """Resource policy of the weights bucket: TLS only (and TLS 1.2+ by default).

    Args:
        bucket_arn: ARN of the bucket, e.g. ``arn:aws:s3:::gpuinfra-prod-weights-123``.
        require_tls12: Also deny requests negotiated below TLS 1.2 (``s3:TlsVersion``).

    Returns:
        The bucket policy document as a dict (``json.dumps`` it for ``aws.s3.BucketPolicy``).
    """
    resources = [bucket_arn, f"{bucket_arn}/*"]
    statements: list[Policy] = [{
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": resources,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }]
    if require_tls12:
        statements.append({
            "Sid": "DenyOutdatedTls",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": resources,
            "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}},
        })
    return _doc(statements)


def reader_policy(bucket_arn: str, prefixes: list[str], kms_key_arn: str | None = None) -> Policy:
    """Read-only identity policy limited to some object prefixes (one model's revisions).

    Args:
        bucket_arn: ARN of the weights bucket.
        prefixes: Object prefixes, each ending in ``/`` (``components.plan.names.model_prefix``).
        kms_key_arn: KMS key encrypting the bucket, if any (adds ``kms:Decrypt`` on that key only).

    Returns:
        The IAM policy document as a dict.

    Raises:
        ValueError: When no prefix is given or one is empty (that would grant the whole bucket).
    """
    if not prefixes or any(not p or p == "/" for p in prefixes):
        raise ValueError(f"reader_policy needs non-empty model prefixes, got {prefixes!r}")
    unique = sorted(set(prefixes))
    statements: list[Policy] = [
        {
            "Sid": "ReadModelObjects",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": [f"{bucket_arn}/{p}*" for p in unique],
        },
        {
            "Sid": "ListModelPrefix",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [bucket_arn],
            "Condition": {"StringLike": {"s3:prefix": [f"{p}*" for p in unique]}},
        },
    ]
    return _doc(statements + _kms_statements(kms_key_arn, ["kms:Decrypt"]))


def writer_policy(bucket_arn: str, kms_key_arn: str | None = None) -> Policy:
    """Upload identity policy: put and multipart upload anywhere in the bucket, never delete.

    Args:
        bucket_arn: ARN of the weights bucket.
        kms_key_arn: KMS key encrypting the bucket, if any (adds the data-key actions uploads need).

    Returns:
        The IAM policy document as a dict.
    """
    statements: list[Policy] = [
        {"Sid": "UploadObjects", "Effect": "Allow", "Action": list(_WRITE_OBJECT_ACTIONS),
         "Resource": [f"{bucket_arn}/*"]},
        {"Sid": "ListBucket", "Effect": "Allow", "Action": list(_WRITE_BUCKET_ACTIONS), "Resource": [bucket_arn]},
    ]
    kms_actions = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    return _doc(statements + _kms_statements(kms_key_arn, kms_actions))


def pod_identity_trust() -> Policy:
    """Trust policy of a role that EKS Pod Identity hands to pods (EKS user guide, "pod-id-role", 2026-11-23)."""
    return _doc([{"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
                  "Action": ["sts:AssumeRole", "sts:TagSession"]}])


def cluster_autoscaler_policy(cluster_name: str, nodegroup_arn_prefix: str) -> Policy:
    """cluster-autoscaler's identity policy: read anything it must inspect, change only its cluster's groups.

    Args:
        cluster_name: EKS cluster name; EKS tags its managed node groups' ASGs
            ``k8s.io/cluster-autoscaler/<cluster>=owned``.
        nodegroup_arn_prefix: ``arn:aws:eks:<region>:<account>:nodegroup/<cluster>`` (DescribeNodegroup scope).

    Returns:
        The IAM policy document (cluster-autoscaler AWS provider README, "Full Cluster Autoscaler Features Policy").
    """
    describe = ["autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeAutoScalingInstances",
                "autoscaling:DescribeLaunchConfigurations", "autoscaling:DescribeScalingActivities",
                "autoscaling:DescribeTags", "ec2:DescribeImages", "ec2:DescribeInstanceTypes",
                "ec2:DescribeLaunchTemplateVersions", "ec2:GetInstanceTypesFromInstanceRequirements"]
    return _doc([
        {"Sid": "Describe", "Effect": "Allow", "Action": describe, "Resource": ["*"]},
        {"Sid": "DescribeNodegroups", "Effect": "Allow", "Action": ["eks:DescribeNodegroup"],
         "Resource": [f"{nodegroup_arn_prefix}/*"]},
        {"Sid": "ScaleOwnGroups", "Effect": "Allow",
         "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
         "Resource": ["*"],
         "Condition": {"StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned"}}},
    ])


def replication_trust() -> Policy:
    """Trust policy of the role S3 assumes to replicate (S3 user guide "Setting up permissions for live
    replication", setting-repl-config-perm-overview.html, read 2026-12-03)."""
    return _doc([{"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": ["sts:AssumeRole"]}])


def replication_policy(source_arn: str, replica_arns: list[str], source_key_arn: str | None = None,
                       replica_key_arns: list[str] | None = None) -> Policy:
    """Identity policy of the replication role: read versions of the source, write replicas, nothing else.

    Args:
        source_arn: ARN of the primary weights bucket.
        replica_arns: ARNs of the replica buckets.
        source_key_arn: KMS key of the source bucket (SSE-KMS objects need ``kms:Decrypt`` on it).
        replica_key_arns: KMS keys of the replicas (``kms:Encrypt`` to re-encrypt there).

    Returns:
        The IAM policy document (actions from the S3 user guide page cited on ``replication_trust`` and
        "Replicating encrypted objects", replication-config-for-kms-objects.html).
    """
    statements: list[Policy] = [
        {"Sid": "ReadSourceConfig", "Effect": "Allow", "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
         "Resource": [source_arn]},
        {"Sid": "ReadSourceVersions", "Effect": "Allow",
         "Action": ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"],
         "Resource": [f"{source_arn}/*"]},
        {"Sid": "WriteReplicas", "Effect": "Allow",
         "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
         "Resource": [f"{a}/*" for a in replica_arns]},
    ]
    if source_key_arn:
        statements.append({"Sid": "DecryptSource", "Effect": "Allow", "Action": ["kms:Decrypt"],
                           "Resource": [source_key_arn]})
    if replica_key_arns:
        statements.append({"Sid": "EncryptReplicas", "Effect": "Allow", "Action": ["kms:Encrypt"],
                           "Resource": list(replica_key_arns)})
    return _doc(statements)
