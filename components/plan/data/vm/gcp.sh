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
setup_cloud_services() { :; }
