"""Stack files are parsed with bounded cost and exactly as the CLI's go-yaml reads them; exit codes of the program."""
from __future__ import annotations

import runpy

import pytest

from components.preview.config import MAX_STACK_BYTES, PreviewConfigError, encode_stack_config, load_raw_config
from tests.conftest import ROOT

BOMB = "config:\n  gpuinfra:owner: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"  gpuinfra:k{i}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8))


def _file(tmp_path, text: str):
    path = tmp_path / "Pulumi.x.yaml"
    path.write_text(text)
    return path


def test_an_alias_bomb_is_refused_at_once_in_one_line(tmp_path):
    assert len(BOMB) < 1500  # the 1.3 KB file ran for minutes and took 3 GB
    with pytest.raises(PreviewConfigError) as err:
        load_raw_config(_file(tmp_path, BOMB))
    # refused at the first anchor, before any expansion (the composer never builds the graph)
    assert "line 2: YAML anchors and aliases are not accepted" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("text,words", [
    ("config:\n  gpuinfra:owner: a\n  gpuinfra:owner: b\n", "mapping key 'gpuinfra:owner' already defined at line 2"),
    ("config:\n  gpuinfra:owner: a\nconfig:\n  gpuinfra:owner: b\n", "mapping key 'config' already defined at line 1"),
    ("config:\n  gpuinfra:budget:\n    monthly_usd: 1\n    monthly_usd: 2\n", "'monthly_usd' already defined at line 3"),
    ("config:\n  gpuinfra:x: " + "[" * 40 + "]" * 40 + "\n", "nested deeper than"),
])
def test_duplicate_keys_and_deep_nesting_are_refused(tmp_path, text, words):
    with pytest.raises(PreviewConfigError) as err:
        load_raw_config(_file(tmp_path, text))
    assert words in str(err.value), str(err.value)


def test_oversized_files_are_refused_before_parsing(tmp_path):
    with pytest.raises(PreviewConfigError, match="limited to"):
        load_raw_config(_file(tmp_path, "config:\n" + "#" * (MAX_STACK_BYTES + 1) + "\n"))


def test_dates_stay_strings_and_infinities_are_refused_like_the_cli(tmp_path):
    raw = load_raw_config(_file(tmp_path, "config:\n  gpuinfra:aws:\n    reservations:\n      - end_date: 2027-01-31\n"))
    assert raw["gpuinfra:aws"]["reservations"][0]["end_date"] == "2027-01-31"  # go-yaml v3 into interface{}
    assert encode_stack_config("gpuinfra", raw)[0]["gpuinfra:aws"] == '{"reservations":[{"end_date":"2027-01-31"}]}'
    raw = load_raw_config(_file(tmp_path, "config:\n  gpuinfra:budget:\n    monthly_usd: .inf\n"))
    with pytest.raises(PreviewConfigError) as err:
        encode_stack_config("gpuinfra", raw)
    assert str(err.value).startswith("gpuinfra:budget: ") and "infinite or NaN" in str(err.value)


def test_an_unexpected_exception_exits_3_as_an_internal_error(monkeypatch, capsys):
    import components.program as program

    def broken(stack):
        raise IndexError("list index out of range")

    monkeypatch.setattr(program, "load_spec", lambda: object())
    monkeypatch.setattr(program, "plan", lambda spec: object())
    monkeypatch.setattr(program, "build", broken)
    with pytest.raises(SystemExit) as exc:
        runpy.run_path(str(ROOT / "stacks" / "__main__.py"), run_name="__main__")
    assert exc.value.code == 3
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("internal error: IndexError: list index out of range") and "please report" in last
