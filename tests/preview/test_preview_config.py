"""Config encoding as the Pulumi CLI does it, project and stack file reading."""

import json
from pathlib import Path

import pytest

from components.preview.config import (
    PreviewConfigError,
    encode_stack_config,
    go_json,
    load_raw_config,
    read_project,
    read_stack_config,
)

FIXTURE = Path(__file__).parent / "fixtures" / "project"
SECRET = "mock-secret-fixture-hf_token"


def test_read_project_resolves_main_dir_and_stack_config_dir():
    project = read_project(FIXTURE)
    assert project.name == "fixture"
    assert project.main_path == (FIXTURE / "prog" / "__main__.py").resolve()
    assert project.stack_config_dir == (FIXTURE / "prog").resolve()


@pytest.mark.parametrize(
    ("key", "value", "full_key", "encoded"),
    [
        ("fixture:flag", True, "fixture:flag", "true"),  # booleans lower-case, as Go formats them
        ("fixture:flag", False, "fixture:flag", "false"),
        ("fixture:count", 3, "fixture:count", "3"),  # numbers via str()
        ("fixture:ratio", 0.85, "fixture:ratio", "0.85"),
        ("fixture:name", "a b", "fixture:name", "a b"),  # strings as-is, no quotes
        ("replicas", 2, "fixture:replicas", "2"),  # a key without namespace gets the project name
        ("aws:region", "us-west-2", "aws:region", "us-west-2"),  # other namespaces are kept
        ("fixture:list", ["a", 1, True], "fixture:list", '["a",1,true]'),  # compact JSON
        ("fixture:map", {"b": [1.0, 2.5], "a": None}, "fixture:map", '{"a":null,"b":[1,2.5]}'),  # keys sorted like Go
        ("fixture:html", {"q": "a<b&c>d"}, "fixture:html", '{"q":"a\\u003cb\\u0026c\\u003ed"}'),  # Go escapes <>&
    ],
)
def test_encode_plain_values(key, value, full_key, encoded):
    config, secret_keys = encode_stack_config("fixture", {key: value})
    assert config == {full_key: encoded}
    assert secret_keys == []


def test_encode_secure_value_becomes_placeholder_and_secret_key():
    config, secret_keys = encode_stack_config("fixture", {"hf_token": {"secure": "AAAB..."}})
    assert config == {"fixture:hf_token": SECRET}
    assert secret_keys == ["fixture:hf_token"]


def test_nested_secure_makes_the_whole_key_secret():
    raw = {"fixture:db": {"user": "app", "password": {"secure": "AAAB..."}, "hosts": [{"secure": "x"}]}}
    config, secret_keys = encode_stack_config("fixture", raw)
    assert secret_keys == ["fixture:db"]
    decoded = json.loads(config["fixture:db"])
    assert decoded == {"user": "app", "password": "mock-secret-fixture-db", "hosts": ["mock-secret-fixture-db"]}


def test_a_map_with_secure_and_other_keys_is_not_a_secure_value():
    config, secret_keys = encode_stack_config("fixture", {"fixture:m": {"secure": "x", "other": 1}})
    assert secret_keys == []
    assert json.loads(config["fixture:m"]) == {"secure": "x", "other": 1}


def test_go_json_integral_floats_have_no_fraction():
    assert go_json({"n": 2.0, "m": [1e3, 0.5]}) == '{"m":[1000,0.5],"n":2}'


def test_stack_file_scalars_keep_their_literal_text(tmp_path):
    path = tmp_path / "Pulumi.s.yaml"
    path.write_text("config:\n  a: yes\n  b: 1.50\n  c: true\n  d:\n  e: '007'\n  f: [1, x]\n")
    raw = load_raw_config(path)
    # The CLI unmarshals each value into a Go string first: the program sees the text as written.
    assert raw == {"a": "yes", "b": "1.50", "c": "true", "d": "", "e": "007", "f": [1, "x"]}


def test_read_stack_config_of_the_fixture():
    config, secret_keys = read_stack_config(FIXTURE, "test")
    assert config["fixture:enabled"] == "true"
    assert config["fixture:replicas"] == "3"
    assert config["fixture:hf_token"] == SECRET
    assert json.loads(config["fixture:settings"]) == {"owner": "ml-platform", "labels": ["gpu", "serving"]}
    assert secret_keys == ["fixture:hf_token"]


def test_missing_stack_names_the_path_and_the_available_stacks():
    with pytest.raises(PreviewConfigError) as err:
        read_stack_config(FIXTURE, "nope")
    assert "Pulumi.nope.yaml" in str(err.value)
    assert "available stacks: test" in str(err.value)
