"""Stand-in report sections for the fixture program (the real ones need the gpuinfra spec)."""

FIXTURE = "tests/preview/fixtures/project"


def build(run):
    """Sections with one priced item, one sizing row and no violations."""
    return {
        "cost": {
            "items": [{
                "resource": "store-l4", "type": "aws:ec2/launchTemplate:LaunchTemplate", "instance_type": "g6.xlarge",
                "region": "us-west-2", "count_min": 1, "count_max": 2, "purchase": "on-demand",
                "hourly": {"best": 0.8, "expected": 1.2, "worst": 1.6},
            }],
            "hourly": {"best": 0.8, "expected": 1.2, "worst": 1.6},
            "monthly": {"best": 584.0, "expected": 876.0, "worst": 1168.0},
            "catalog_as_of": "2025-01-15",
        },
        "sizing": [{
            "model": "tiny", "pool": "l4", "instance_type": "g6.xlarge", "tp": 1, "replicas_per_node": 1,
            "weights_gib_per_gpu": 2.5, "kv_tokens": 100000, "max_concurrency": 12, "fits": True, "reason": "",
        }],
        "warnings": ["fixture warning"],
        "routing": [],
        "violations": [],
    }


def build_violating(run):
    """The same sections with one mandatory violation naming the protected bucket."""
    out = build(run)
    out["violations"] = [{"policy": "fixture-mandatory", "level": "mandatory", "resource": "store-weights", "message": "demo"}]
    return out
