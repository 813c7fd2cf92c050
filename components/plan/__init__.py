"""Pure planning decisions: model fit, capacity, cost, names, engine args, manifests as data."""
