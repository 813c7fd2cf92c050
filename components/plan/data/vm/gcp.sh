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
# vLLM's /metrics (served without the API key) every 30 s and labels every series gpuinfra_group=<env>-<pool>
# (the autoscalers' filter: without it they would sum every pool's and region's VMs). Install first: the package ships its own
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
                labels:
                  gpuinfra_group: "${METRICS_GROUP}"
  service:
    pipelines:
      vllm:
        receivers: [vllm]
OPS
  systemctl restart google-cloud-ops-agent \
    || { log "Ops Agent restart failed: queue-based autoscaling has no metric"; return 1; }
}
