"""Benchmark: upload a synthetic model with upload_weights vs a plain boto3 upload_file, against a local moto server.

Usage (from the repo root):
    python scripts/bench_upload.py                 # 1 GiB, part 64 MiB, concurrency 8
    python scripts/bench_upload.py --size-gib 0.05 --json
Starts moto's ThreadedMotoServer on 127.0.0.1 (a free port) unless --endpoint-url is given.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import typer  # noqa: E402

from components.ops import clients  # noqa: E402
from components.ops.weights import upload_model  # noqa: E402

app = typer.Typer(add_completion=False, help=__doc__)
MIB = 1024 * 1024


def synthetic_model(directory: Path, size_bytes: int, shards: int = 2) -> None:
    """Writes config.json plus `shards` .safetensors files of random bytes totalling size_bytes."""
    (directory / "config.json").write_text(json.dumps({"architectures": ["Synthetic"], "hidden_size": 8}))
    per = size_bytes // shards
    for index in range(shards):
        with open(directory / f"model-{index + 1:05d}-of-{shards:05d}.safetensors", "wb") as handle:
            left = per if index < shards - 1 else size_bytes - per * (shards - 1)
            while left > 0:
                block = min(left, 16 * MIB)
                handle.write(os.urandom(block))
                left -= block


def _start_moto() -> tuple[object, str]:
    import logging
    import socket
    from moto.server import ThreadedMotoServer
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log would drown the figures
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return server, f"http://127.0.0.1:{port}"


def run(size_gib: float, part_mib: int, concurrency: int, endpoint: Optional[str]) -> dict:
    """Runs both uploads of the same files into one bucket; returns sizes, seconds, MiB/s and the ratio."""
    for key, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        os.environ.setdefault(key, value)
    server = None
    if endpoint is None:
        server, endpoint = _start_moto()
    try:
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config
        s3 = clients.aws_client("s3", "us-east-1", endpoint, Config(max_pool_connections=concurrency * 2))
        s3.create_bucket(Bucket="bench")
        with tempfile.TemporaryDirectory() as tmp:
            model_dir, size = Path(tmp), int(size_gib * 1024 * MIB)
            synthetic_model(model_dir, size)
            start = time.perf_counter()
            upload_model(model_dir, "s3://bench", "synthetic", "r1", s3=s3, part_size=part_mib * MIB,
                         concurrency=concurrency, state_file=model_dir / ".state.json", show_progress=False)
            ours = time.perf_counter() - start
            config = TransferConfig(multipart_chunksize=part_mib * MIB, max_concurrency=concurrency)
            start = time.perf_counter()
            for path in sorted(model_dir.glob("*.safetensors")):
                s3.upload_file(str(path), "bench", f"baseline/{path.name}", Config=config)
            base = time.perf_counter() - start
        mib = size / MIB
        return {"size_mib": round(mib, 1), "part_mib": part_mib, "concurrency": concurrency,
                "upload_weights_s": round(ours, 3), "upload_weights_mib_s": round(mib / ours, 1),
                "upload_file_s": round(base, 3), "upload_file_mib_s": round(mib / base, 1),
                "ratio": round((mib / ours) / (mib / base), 2)}
    finally:
        if server is not None:
            server.stop()


@app.command()
def main(
    size_gib: float = typer.Option(1.0, min=0.001, help="Synthetic model size, GiB."),
    part_size_mib: int = typer.Option(64, min=5, help="Part size for both uploaders, MiB."),
    concurrency: int = typer.Option(8, min=1, help="Parallel parts for both uploaders."),
    endpoint_url: Optional[str] = typer.Option(None, help="Use this S3 endpoint instead of starting moto."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Print both throughputs and their ratio."""
    result = run(size_gib, part_size_mib, concurrency, endpoint_url)
    if as_json:
        typer.echo(json.dumps(result))
        return
    typer.echo(f"synthetic model: {result['size_mib']} MiB, part {part_size_mib} MiB, concurrency {concurrency}")
    typer.echo(f"upload_weights: {result['upload_weights_s']:.2f} s  {result['upload_weights_mib_s']:.1f} MiB/s "
               "(sha256 + manifest included)")
    typer.echo(f"boto3 upload_file: {result['upload_file_s']:.2f} s  {result['upload_file_mib_s']:.1f} MiB/s")
    typer.echo(f"ratio upload_weights/upload_file: {result['ratio']:.2f}")


if __name__ == "__main__":
    app()
