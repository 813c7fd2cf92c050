"""Lookups over the resources an offline plan recorded (shared by the component test suites)."""
from __future__ import annotations

from components.preview.recorder import ResourceRecord


class RecordLookups:
    """Mixin for a plan holding ``resources: list[ResourceRecord]``."""

    resources: list[ResourceRecord]

    def of_type(self, typ: str) -> list[ResourceRecord]:
        """Every record of one resource type."""
        return [r for r in self.resources if r.type == typ]

    def one(self, typ: str, name: str) -> ResourceRecord:
        """The single record of a type and name (fails the test when there is not exactly one)."""
        found = [r for r in self.resources if r.type == typ and r.name == name]
        assert len(found) == 1, f"{typ} {name}: {len(found)} records"
        return found[0]
