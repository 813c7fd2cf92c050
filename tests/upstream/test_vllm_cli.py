"""The vLLM arguments the program renders exist in the pinned vLLM release's CLI
(components/catalog/data/vllm_cli/<version>.txt, extracted from vllm/engine/arg_utils.py and the server's
cli_args.py at that release by tests/upstream/tools/extract_vllm_cli.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from components.catalog.versions import vllm_image, vllm_version

CLI_DIR = Path(__file__).resolve().parents[2] / "components" / "catalog" / "data" / "vllm_cli"


def cli(version: str) -> tuple[set[str], dict[str, set[str]]]:
    """(flags, allowed values per flag) of one vLLM release."""
    path = CLI_DIR / f"{version}.txt"
    assert path.exists(), f"no CLI list for vLLM {version}: run tests/upstream/tools/extract_vllm_cli.py"
    flags, choices = set(), {}
    for line in path.read_text().splitlines():
        if line.startswith("choices "):
            flag, values = line.removeprefix("choices ").split(":", 1)
            choices[flag] = set(values.split())
        elif line.startswith("--"):
            flags.add(line)
    return flags, choices


def problems(args: list[str], version: str) -> list[str]:
    """Unknown flags and values outside a flag's choices, as ``flag``/``flag=value`` strings."""
    flags, choices = cli(version)
    out = []
    for i, arg in enumerate(args):
        if not arg.startswith("--"):
            continue
        flag, _, inline = arg.partition("=")
        if flag not in flags:
            out.append(flag)
        value = inline or (args[i + 1] if i + 1 < len(args) else "")
        if flag in choices and value not in choices[flag]:
            out.append(f"{flag}={value}")
    return out


def vllm_containers(rendered) -> list[tuple[str, dict]]:
    return [(f"{r.label}/{doc['metadata']['name']}", c) for r in rendered.values() for doc in r.kinds("Deployment")
            for c in doc["spec"]["template"]["spec"]["containers"] if c["image"].startswith("vllm/")]


def test_the_pinned_version_has_a_cli_list():
    flags, choices = cli(vllm_version())
    assert len(flags) > 200 and {"--quantization", "--kv-cache-dtype", "--load-format"} <= set(choices)


def test_every_rendered_vllm_argument_exists_at_the_pinned_version(rendered):
    containers = vllm_containers(rendered)
    assert len(containers) >= 5
    failures = []
    for where, container in containers:
        assert container["image"] == vllm_image()
        failures += [f"{where}: {p}" for p in problems(container["args"], vllm_version())]
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("args, bad", [
    (["--model", "m", "--swap-space", "4"], "--swap-space"),                 # removed after 0.15
    (["--model", "m", "--quantization", "bitsandbytes"], "--quantization=bitsandbytes"),
    (["--model", "m", "--load-format", "runai-streamer"], "--load-format=runai-streamer"),
    (["--model", "m", "--enable-prefix-cache"], "--enable-prefix-cache"),  # misspelt
])
def test_a_flag_or_value_the_release_lacks_fails(args, bad):
    assert bad in problems(args, vllm_version())

