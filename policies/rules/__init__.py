"""Guardrail rules evaluated in every plan (placeholder until the policy pack lands)."""


def evaluate(spec, resources, report):
    """Violations of the stack's guardrails: none are evaluated yet."""
    return []
