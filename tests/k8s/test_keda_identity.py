"""``monitoring.provider: gke-managed``: KEDA's operator gets a Google identity that may read Managed Prometheus.

Upstream facts the checks rest on (not our constants):
- kedacore/charts v2.20.2 (cbb9bb8c) keda/values.yaml: the operator runs as ``serviceAccount.operator.name``
  (templates/manager/deployment.yaml ``serviceAccountName``) in the release namespace; ``podIdentity.gcp.enabled``
  with ``gcpIAMServiceAccount`` puts ``iam.gke.io/gcp-service-account`` on that ServiceAccount
  (templates/manager/serviceaccount.yaml).
- kedacore/keda v2.20.2 (68a5b502) pkg/scalers/gcp/gcp_common.go: ``podIdentity.provider: gcp`` uses the default
  token source (the GKE metadata server, i.e. Workload Identity).
- KEDA docs "GCP Workload Identity" (keda.sh/docs/2.20/authentication-providers/gcp-workload-identity/): the Google
  service account needs the roles of the scaler and ``roles/iam.workloadIdentityUser`` for
  ``serviceAccount:PROJECT.svc.id.goog[NAMESPACE/KSA]``; reading Managed Service for Prometheus needs
  ``roles/monitoring.viewer`` (cloud.google.com/stackdriver/docs/managed-prometheus/query).
"""
from __future__ import annotations

import pytest

from components.preview.run import run_program
from tests.conftest import ROOT
from tests.k8s.helpers import kind, of_type, variant
from tests.upstream.chart_values import chart_dir, defaults, unknown_keys

RELEASE = "kubernetes:helm.sh/v3:Release"
READ_MANAGED_PROMETHEUS = "roles/monitoring.viewer"
PROJECT = "acme-llm-staging"  # gcp:project of stacks/Pulumi.staging.yaml


def _gke_keda(run):
    (release,) = [r for r in of_type(run, RELEASE) if r.inputs["chart"] == "keda"]  # staging: one cluster (GKE)
    return release


@pytest.fixture(scope="module")
def managed_run():
    raw = variant("staging", monitoring={"retention_days": 15, "storage_gib": 100, "provider": "gke-managed"})
    assert raw["gcp:project"] == PROJECT
    return run_program(ROOT, "staging", raw_config=raw)


def test_keda_operator_impersonates_a_service_account_that_reads_managed_prometheus(managed_run):
    release = _gke_keda(managed_run)
    chart_defaults = defaults(chart_dir("keda"))
    assert not unknown_keys(release.inputs["values"], chart_defaults)
    identity = release.inputs["values"]["podIdentity"]["gcp"]
    assert identity["enabled"] is True
    email = identity["gcpIAMServiceAccount"]
    ksa = chart_defaults["serviceAccount"]["operator"]["name"]
    assert "serviceAccount" not in release.inputs["values"]  # the chart's default name stays in force

    (account,) = [a for a in of_type(managed_run, "gcp:serviceaccount/account:Account") if a.outputs.get("email") == email]
    impersonation = [b for b in of_type(managed_run, "gcp:serviceaccount/iAMMember:IAMMember")
                     if b.inputs["serviceAccountId"].endswith(f"/serviceAccounts/{email}")]
    assert [(b.inputs["role"], b.inputs["member"]) for b in impersonation] == [
        ("roles/iam.workloadIdentityUser", f"serviceAccount:{PROJECT}.svc.id.goog[{release.inputs['namespace']}/{ksa}]")]
    grants = [(g.inputs["project"], g.inputs["role"]) for g in of_type(managed_run, "gcp:projects/iAMMember:IAMMember")
              if g.inputs["member"] == f"serviceAccount:{email}"]
    assert grants == [(PROJECT, READ_MANAGED_PROMETHEUS)]
    assert account.inputs["project"] == PROJECT


def test_scaled_objects_authenticate_with_that_identity(managed_run):
    auths = kind(managed_run, "TriggerAuthentication")
    assert [a.inputs["spec"] for a in auths] == [{"podIdentity": {"provider": "gcp"}}]
    for scaled in kind(managed_run, "ScaledObject"):
        trigger = scaled.inputs["spec"]["triggers"][0]
        assert trigger["authenticationRef"]["name"] == auths[0].inputs["metadata"]["name"]
        assert trigger["metadata"]["serverAddress"].startswith(f"https://monitoring.googleapis.com/v1/projects/{PROJECT}/")


def test_self_managed_prometheus_needs_no_google_identity_for_keda():
    run = run_program(ROOT, "staging")
    assert "podIdentity" not in _gke_keda(run).inputs["values"]
    assert not [r for r in of_type(run, "gcp:projects/iAMMember:IAMMember") if r.inputs["role"] == READ_MANAGED_PROMETHEUS]
