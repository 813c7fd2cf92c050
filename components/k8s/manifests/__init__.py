"""Pure Kubernetes manifest builders of the serving layer (dicts; no pulumi imports)."""
