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
# vLLM's /metrics (served without the API key) every 30 s. A failure here leaves serving up, only autoscaling blind.
setup_cloud_services() {
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
  if ! systemctl cat google-cloud-ops-agent.service >/dev/null 2>&1; then
    curl -sSfL -o /tmp/add-ops-agent-repo.sh https://dl.google.com/cloudagents/add-google-cloud-ops-agent-repo.sh \
      && bash /tmp/add-ops-agent-repo.sh --also-install \
      || { echo "gpuinfra: Ops Agent install failed: queue-based autoscaling has no metric" >&2; return 0; }
  fi
  systemctl restart google-cloud-ops-agent || echo "gpuinfra: Ops Agent restart failed" >&2
}
