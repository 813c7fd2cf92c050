"""The README documents every stack setting: its generated table matches the schema."""
from __future__ import annotations

import importlib.util

from tests.conftest import ROOT


def test_readme_settings_table_is_current():
    spec = importlib.util.spec_from_file_location("settings_doc", ROOT / "scripts" / "settings_doc.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    table = module.render()
    assert table in (ROOT / "README.md").read_text(), "run: python scripts/settings_doc.py --write"
    # every field carries a description (unit / meaning of its default)
    undocumented = [row for row in table.splitlines() if row.startswith("| `") and row.endswith("|  |")]
    assert not undocumented, undocumented
