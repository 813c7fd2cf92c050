"""Registrations the offline preview refuses the way AWS would: S3 replication without its prerequisites."""
from __future__ import annotations

import threading
from typing import Any

VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"


class ResourceRefusedError(ValueError):
    """The real API would refuse this create; the message is the API's error, as close as documented."""


class S3Refusals:
    """Remembers which buckets have versioning Enabled, and refuses a replication configuration that S3 refuses.

    S3 API reference PutBucketReplication and user guide "Requirements and considerations for replication"
    (read 2026-12-03): versioning must be enabled on the source and every destination bucket (``InvalidRequest``);
    a rule with ``Filter`` also needs ``DeleteMarkerReplication`` and ``Priority``, priorities are unique
    (``InvalidArgument``); ``SseKmsEncryptedObjects`` needs the destination's ``ReplicaKmsKeyID``. The mocks do
    not see ``depends_on`` (the recorded options do: tests check it), so the versioning check holds only for
    configurations registered after their versioning resources, which ``depends_on`` guarantees.
    """

    def __init__(self) -> None:
        """Start with no versioned bucket."""
        self._versioned: set[str] = set()
        self._lock = threading.Lock()

    def observe(self, typ: str, inputs: dict[str, Any]) -> None:
        """Record a registration, raising :class:`ResourceRefusedError` when AWS would refuse it."""
        if typ == VERSIONING:
            if (inputs.get("versioningConfiguration") or {}).get("status") == "Enabled":
                with self._lock:
                    self._versioned.add(str(inputs.get("bucket")))
        elif typ == REPLICATION:
            self._check_replication(inputs)

    def _check_replication(self, inputs: dict[str, Any]) -> None:
        rules = inputs.get("rules") or []
        if not rules:
            raise ResourceRefusedError("MalformedXML: a replication configuration needs at least one rule")
        buckets = [str(inputs.get("bucket"))] + [str(r["destination"]["bucket"]).split(":::")[-1] for r in rules]
        with self._lock:
            unversioned = [b for b in buckets if b not in self._versioned]
        if unversioned:
            raise ResourceRefusedError(f"InvalidRequest: Versioning must be 'Enabled' on the bucket to apply a "
                                       f"replication configuration (not enabled on {', '.join(unversioned)})")
        priorities = [r.get("priority") for r in rules if r.get("filter") is not None]
        for rule in rules:
            if rule.get("filter") is not None and (rule.get("priority") is None or not rule.get("deleteMarkerReplication")):
                raise ResourceRefusedError(f"InvalidArgument: rule {rule.get('id')!r} has a Filter but no Priority "
                                           "or DeleteMarkerReplication")
            kms = (rule.get("sourceSelectionCriteria") or {}).get("sseKmsEncryptedObjects")
            if kms and not (rule["destination"].get("encryptionConfiguration") or {}).get("replicaKmsKeyId"):
                raise ResourceRefusedError(f"InvalidArgument: rule {rule.get('id')!r} selects SSE-KMS objects "
                                           "without a destination ReplicaKmsKeyID")
        if len(priorities) != len(set(priorities)):
            raise ResourceRefusedError("InvalidArgument: Found duplicate priority in the replication rules")
