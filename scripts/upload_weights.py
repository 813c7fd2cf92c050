"""Upload a model directory to <bucket>/<model>/<revision>/ with manifest.json last; --verify re-checks a copy.

Usage (from the repo root):
    python scripts/upload_weights.py ./llama-8b s3://my-weights --model llama-8b --revision 0e9e39f
    python scripts/upload_weights.py ./llama-8b gs://my-weights --model llama-8b --revision 0e9e39f --concurrency 16
    python scripts/upload_weights.py --verify s3://my-weights --model llama-8b --revision 0e9e39f

Only .safetensors and config/tokenizer .json/.txt files are uploaded; pickle formats (.bin .pt .pth .pkl .ckpt)
are refused unless --allow-pickle. An interrupted upload resumes from its state file (same multipart upload id);
objects already complete in the bucket (size + sha256) are not sent again, and multipart uploads the state no
longer needs (file edited or removed) are aborted. --revision must be a Hugging Face revision (40-hex commit or a
tag/branch name without whitespace or path separators); --model one key level.

Exit codes: 0 ok; 1 --verify found mismatches or manifest.json missing/corrupt, endpoint unreachable or server
error after the retry budget; 2 refused input (revision, model, files, bucket missing, corrupt state file,
endpoint URL), credentials, permissions; 3 internal error (please report).
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import typer  # noqa: E402

from components.ops import clients  # noqa: E402
from components.ops.errors import OpsError, run_cli  # noqa: E402
from components.ops.upload import check_model, check_revision  # noqa: E402
from components.ops.weights import DEFAULT_CONCURRENCY, DEFAULT_PART_MIB, upload_model, verify_model  # noqa: E402

app = typer.Typer(add_completion=False, help=__doc__)
EPILOG = ("Exit codes: 0 ok; 1 operational failure (--verify mismatches, manifest.json missing or corrupt, endpoint "
          "unreachable or server error after the retry budget); 2 bad input (revision, model, files, missing bucket, "
          "corrupt state file, endpoint URL, credentials, permissions); 3 internal error (please report). "
          + clients.BUDGET_HELP)
MIN_PART_MIB = 5  # S3 minimum part size (except the last part)


def make_clients(bucket: str, region: str, endpoint_url: Optional[str], gcs_endpoint: Optional[str],
                 gcp_anonymous: bool, concurrency: int) -> dict:
    """Builds the client for the bucket's scheme: boto3 S3 (adaptive retries) or google-cloud-storage."""
    if bucket.startswith("s3://"):
        from botocore.config import Config
        pool = Config(max_pool_connections=max(10, concurrency * 2))
        return {"s3": clients.aws_client("s3", region, endpoint_url, pool)}
    if bucket.startswith("gs://"):
        credentials, project = clients.gcp_credentials(gcp_anonymous)
        endpoint = clients.gcp_endpoint(gcs_endpoint, "--gcs-endpoint")
        return {"gcs": clients.storage_client(credentials, project, endpoint)}
    raise OpsError(f"bucket: {bucket!r} must start with s3:// or gs://")


@app.command(epilog=EPILOG)
def main(
    targets: list[str] = typer.Argument(..., metavar="[MODEL_DIR] BUCKET",
                                        help="Local model directory and s3://<bucket> or gs://<bucket> (an "
                                             "optional /<base> prefix may follow); only the bucket with --verify."),
    model: str = typer.Option(..., help="Model name (first prefix level)."),
    revision: str = typer.Option(..., help="Revision, e.g. the Hugging Face commit sha (second prefix level)."),
    verify: bool = typer.Option(False, "--verify", help="Re-check the bucket copy against manifest.json."),
    allow_pickle: bool = typer.Option(False, "--allow-pickle", help="Also upload pickle formats (unsafe; the "
                                      "serving init container still refuses them)."),
    part_size_mib: int = typer.Option(DEFAULT_PART_MIB, min=MIN_PART_MIB, help="Multipart part / chunk size, MiB."),
    concurrency: int = typer.Option(DEFAULT_CONCURRENCY, min=1, help="Parallel parts (S3) / objects (GCS)."),
    state_file: Optional[Path] = typer.Option(None, help="Resume state file (default ~/.cache/gpuinfra/uploads)."),
    region: str = typer.Option("us-east-1", envvar="AWS_REGION", help="AWS region of the bucket."),
    no_progress: bool = typer.Option(False, "--no-progress", help="No progress bar."),
    endpoint_url: Optional[str] = typer.Option(None, help="AWS endpoint override (tests; AWS_ENDPOINT_URL works too)."),
    gcs_endpoint: Optional[str] = typer.Option(None, help="GCS endpoint override (tests)."),
    gcp_anonymous: bool = typer.Option(False, help="Anonymous GCP credentials (loopback tests only)."),
) -> None:
    """Upload model weights, or --verify an uploaded revision."""
    def body() -> None:
        if len(targets) != (1 if verify else 2):
            raise OpsError("give MODEL_DIR and BUCKET to upload, or only BUCKET with --verify")
        model_dir, bucket = (None, targets[0]) if verify else (Path(targets[0]), targets[1])
        check_model(model)
        check_revision(revision)
        found = make_clients(bucket, region, endpoint_url, gcs_endpoint, gcp_anonymous, concurrency)
        if verify:
            body_, problems = verify_model(bucket, model, revision, **found)
            for line in problems:
                typer.echo(f"MISMATCH {line}")
            typer.echo(f"verify {bucket} {model}/{revision}: {len(body_['files'])} files, {len(problems)} mismatches")
            if problems:
                raise SystemExit(1)
            return
        summary = upload_model(model_dir, bucket, model, revision, part_size=part_size_mib * 1024 * 1024,
                               concurrency=concurrency, allow_pickle=allow_pickle, state_file=state_file,
                               show_progress=not no_progress, **found)
        for rel in summary.skipped:
            typer.echo(f"skipped {rel} (not safetensors/json/txt)")
        typer.echo(f"uploaded {summary.files} files ({summary.bytes:,} bytes) to {summary.destination}; "
                   "manifest.json written last")
    run_cli(body)


if __name__ == "__main__":
    app()
