#!/usr/bin/env bash
# gpuinfra VM bootstrap (gcp). Generated; do not edit.
set -euo pipefail
MODEL=llama-8b
REVISION=0e9e39f249a16976918f6564b8830bc894c89659
WEIGHTS_URI=gs://weights-bucket/llama-8b/0e9e39f249a16976918f6564b8830bc894c89659/
REGION=us-central1
API_KEY_SECRET=projects/acme-llm-staging/secrets/vllm-api-key
NVME_MOUNT=/mnt/k8s-disks
MODEL_ROOT=/mnt/k8s-disks/models
PORT=8000
VLLM_IMAGE=vllm/vllm-openai:v0.34.0
DCGM_EXPORTER_IMAGE=nvcr.io/nvidia/k8s/dcgm-exporter:4.5.3-4.8.2-distroless
NODE_EXPORTER_IMAGE=quay.io/prometheus/node-exporter:v1.10.2
ENV_FILE=/etc/gpuinfra/vllm.env
METRICS_NAMESPACE=gpuinfra/GPU
METRIC_NAME=GPUUtilization
DRAIN_HOOK=drain-vllm
DRAIN_SECONDS=120
ENGINE_ARGS=(--model /models/llama-8b/0e9e39f249a16976918f6564b8830bc894c89659 --served-model-name llama-8b --tensor-parallel-size 1 --max-model-len 8192 --gpu-memory-utilization 0.9 --max-num-seqs 45 --dtype bfloat16 --kv-cache-dtype fp8 --enable-prefix-caching)
# GCP: local SSDs (NVMe or SCSI), GCS copies, Secret Manager; GPU metrics come from the exporters.
nvme_disks() {
  local d
  for d in /dev/disk/by-id/google-local-nvme-ssd-* /dev/disk/by-id/google-local-ssd-*; do
    if [ -e "$d" ] && [[ "$d" != *-part* ]]; then readlink -f "$d"; fi
  done | sort -u
}
COPY_CMD=(gcloud storage cp --no-user-output-enabled)
fetch_secret() {
  gcloud secrets versions access "$API_KEY_SECRET/versions/latest"
}
# The burst MIGs autoscale on vLLM's queue gauge in Cloud Monitoring
# (prometheus.googleapis.com/vllm:num_requests_waiting/gauge): the Ops Agent's Prometheus receiver scrapes
# vLLM's /metrics (served without the API key) every 30 s. Install first: the package ships its own
# /etc/google-cloud-ops-agent/config.yaml (a plain %config file, replaced on install) and starts the agent on
# it (GoogleCloudPlatform/ops-agent pkg/rpm/google-cloud-ops-agent.spec); then write ours, then restart so the
# agent reads it. Any failure ends the script non-zero: a VM serving without the metric leaves autoscaling
# blind, so the startup-script log says so instead of carrying on.
setup_cloud_services() {
  if ! systemctl cat google-cloud-ops-agent.service >/dev/null 2>&1; then
    local installer rc=0
    installer="$(mktemp)"
    curl -sSfL --retry 5 -o "$installer" https://dl.google.com/cloudagents/add-google-cloud-ops-agent-repo.sh \
      || { log "Ops Agent installer download failed: queue-based autoscaling has no metric"; return 1; }
    bash "$installer" --also-install || rc=$?
    rm -f "$installer"
    if ((rc != 0)); then log "Ops Agent install failed (exit $rc): queue-based autoscaling has no metric"; return 1; fi
  fi
  mkdir -p /etc/google-cloud-ops-agent
  cat > /etc/google-cloud-ops-agent/config.yaml <<OPS
metrics:
  receivers:
    vllm:
      type: prometheus
      config:
        scrape_configs:
          - job_name: vllm
            scrape_interval: 30s
            static_configs:
              - targets: ["localhost:${PORT}"]
  service:
    pipelines:
      vllm:
        receivers: [vllm]
OPS
  systemctl restart google-cloud-ops-agent \
    || { log "Ops Agent restart failed: queue-based autoscaling has no metric"; return 1; }
}
log() { echo "gpuinfra-bootstrap: $*" >&2; }

# Stripe every local NVMe disk into one RAID0 array (or use the single disk) and mount it at $NVME_MOUNT.
# Runs on every boot: instance-store and local SSD contents do not survive a stop/start.
prepare_nvme() {
  mkdir -p "$NVME_MOUNT"
  if mountpoint -q "$NVME_MOUNT"; then log "$NVME_MOUNT already mounted"; return; fi
  local disks dev
  mapfile -t disks < <(nvme_disks)
  if ((${#disks[@]} == 0)); then log "no local NVMe disk: weights go to the root volume"; return; fi
  if ((${#disks[@]} == 1)); then
    dev="${disks[0]}"
  else
    command -v mdadm >/dev/null || { command -v dnf >/dev/null && dnf -y -q install mdadm; } || apt-get -y -q install mdadm
    dev=/dev/md/gpuinfra
    [ -e "$dev" ] || mdadm --assemble "$dev" "${disks[@]}" 2>/dev/null \
      || mdadm --create "$dev" --level=0 --raid-devices="${#disks[@]}" --force --run "${disks[@]}"
  fi
  blkid "$dev" >/dev/null 2>&1 || mkfs.ext4 -q -F -E lazy_itable_init=1,lazy_journal_init=1,nodiscard "$dev"
  mount -o noatime "$dev" "$NVME_MOUNT"
  log "mounted $dev (${#disks[@]} disk(s)) at $NVME_MOUNT"
}

# Copy the revision's files listed in manifest.json, skipping files whose size and sha256 already match,
# and verify every sha256; a verified revision leaves a marker so the next boot skips the hashing.
fetch_weights() {
  local dest="$MODEL_ROOT/$MODEL/$REVISION"
  mkdir -p "$dest"
  "${COPY_CMD[@]}" "${WEIGHTS_URI}manifest.json" "$dest/manifest.json"
  python3 - "$WEIGHTS_URI" "$dest" "${COPY_CMD[@]}" <<'PY'
import hashlib, json, os, subprocess, sys

uri, dest, copy = sys.argv[1], sys.argv[2], sys.argv[3:]
raw = open(os.path.join(dest, "manifest.json"), "rb").read()
marker, digest = os.path.join(dest, ".gpuinfra-verified"), hashlib.sha256(raw).hexdigest()
if os.path.exists(marker) and open(marker).read().strip() == digest:
    sys.exit(0)

def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 24), b""):
            h.update(chunk)
    return h.hexdigest()

def complete(path, entry):
    return os.path.exists(path) and os.path.getsize(path) == entry["size"] and sha256(path) == entry["sha256"]

for entry in json.loads(raw)["files"]:
    rel = entry.get("path") or entry["name"]
    if rel.startswith("/") or ".." in rel.split("/"):
        sys.exit(f"unsafe path in manifest: {rel}")
    path = os.path.join(dest, rel)
    if complete(path, entry):
        continue
    os.makedirs(os.path.dirname(path), exist_ok=True)
    subprocess.run([*copy, uri + rel, path + ".part"], check=True)
    os.replace(path + ".part", path)
    if not complete(path, entry):
        os.remove(path)
        sys.exit(f"sha256 mismatch for {rel}")
with open(marker, "w") as fh:
    fh.write(digest)
PY
  log "weights verified in $dest"
}

# The API key goes to a root-only env file read by docker; it never appears in user data or argv.
write_api_key() {
  install -d -m 0700 /etc/gpuinfra
  local key
  key="$(fetch_secret)"
  (umask 077 && printf 'VLLM_API_KEY=%s\n' "$key" > "$ENV_FILE.tmp" && mv "$ENV_FILE.tmp" "$ENV_FILE")
}

run_containers() {
  systemctl start docker
  docker rm -f vllm dcgm-exporter node-exporter >/dev/null 2>&1 || true
  docker run -d --name dcgm-exporter --restart unless-stopped --gpus all --cap-add SYS_ADMIN \
    -p 9400:9400 "$DCGM_EXPORTER_IMAGE"
  docker run -d --name node-exporter --restart unless-stopped --net host --pid host \
    -v /:/host:ro,rslave "$NODE_EXPORTER_IMAGE" --path.rootfs=/host --web.listen-address=:9100
  docker run -d --name vllm --restart on-failure:5 --gpus all --ipc host -p "$PORT:8000" \
    --env-file "$ENV_FILE" -e HF_HUB_OFFLINE=1 -v "$MODEL_ROOT:/models:ro" \
    "$VLLM_IMAGE" "${ENGINE_ARGS[@]}"
}

prepare_nvme
fetch_weights
write_api_key
run_containers
setup_cloud_services
log "vLLM serving $MODEL on port $PORT"
