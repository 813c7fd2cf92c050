# AWS: instance-store NVMe disks, S3 copies, Secrets Manager, CloudWatch GPU metric, ASG drain hook.
nvme_disks() {
  local d
  for d in /dev/disk/by-id/nvme-Amazon_EC2_NVMe_Instance_Storage_*; do
    if [ -e "$d" ] && [[ "$d" != *-part* ]]; then readlink -f "$d"; fi
  done | sort -u
}
COPY_CMD=(aws s3 cp --only-show-errors --region "$REGION")
fetch_secret() {
  aws secretsmanager get-secret-value --region "$REGION" --secret-id "$API_KEY_SECRET" \
    --query SecretString --output text
}

# A one-minute timer publishes the busiest GPU's utilisation (the idle watchdog reads it) and, on a pool that
# scales, vLLM's waiting requests per pool (the fleet group's target tracking reads them; /metrics needs no API
# key: vLLM's auth middleware guards /v1 paths only), and a watcher drains vLLM and completes the Auto Scaling
# termination hook when the group takes the instance away.
setup_cloud_services() {
  local token instance_id
  token="$(curl -sf -X PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')"
  instance_id="$(curl -sf -H "X-aws-ec2-metadata-token: $token" http://169.254.169.254/latest/meta-data/instance-id)"
  printf 'REGION=%s\nINSTANCE_ID=%s\nMETRICS_NAMESPACE=%s\nMETRIC_NAME=%s\nDRAIN_HOOK=%s\nDRAIN_SECONDS=%s\n' \
    "$REGION" "$instance_id" "$METRICS_NAMESPACE" "$METRIC_NAME" "$DRAIN_HOOK" "$DRAIN_SECONDS" > /etc/gpuinfra/instance.env
  printf 'PORT=%s\nQUEUE_POOL=%s\nQUEUE_METRIC_NAME=%s\nQUEUE_DIMENSION=%s\nWAITING_METRIC=%s\n' \
    "$PORT" "$QUEUE_POOL" "$QUEUE_METRIC_NAME" "$QUEUE_DIMENSION" "$WAITING_METRIC" >> /etc/gpuinfra/instance.env
  cat > /usr/local/sbin/gpuinfra-gpu-metric <<'SH'
#!/usr/bin/env bash
set -euo pipefail
util="$(nvidia-smi --query-gpu=utilization.gpu --format=csv,noheader,nounits | sort -n | tail -n 1)"
aws cloudwatch put-metric-data --region "$REGION" --namespace "$METRICS_NAMESPACE" \
  --metric-name "$METRIC_NAME" --unit Percent --value "$util" --dimensions "InstanceId=$INSTANCE_ID"
[ -n "$QUEUE_POOL" ] || exit 0
# Only a serving engine reports: a VM still loading weights publishes nothing (the group's warm-up covers it).
waiting="$(curl -sf --max-time 5 "http://127.0.0.1:$PORT/metrics" |
  awk -v m="$WAITING_METRIC" '$1 == m || index($1, m "{") == 1 { s += $NF; n++ } END { if (n) print s }')" || exit 0
[ -n "$waiting" ] || exit 0
aws cloudwatch put-metric-data --region "$REGION" --namespace "$METRICS_NAMESPACE" \
  --metric-name "$QUEUE_METRIC_NAME" --unit Count --value "$waiting" --dimensions "$QUEUE_DIMENSION=$QUEUE_POOL"
SH
  cat > /usr/local/sbin/gpuinfra-drain <<'SH'
#!/usr/bin/env bash
set -uo pipefail
imds() {
  local t
  t="$(curl -sf -X PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 60')" &&
    curl -sf -H "X-aws-ec2-metadata-token: $t" "http://169.254.169.254/latest/meta-data/$1"
}
while sleep 5; do
  [ "$(imds autoscaling/target-lifecycle-state)" = "Terminated" ] || continue
  docker stop --time "$DRAIN_SECONDS" vllm || true
  group="$(aws autoscaling describe-auto-scaling-instances --region "$REGION" --instance-ids "$INSTANCE_ID" \
    --query 'AutoScalingInstances[0].AutoScalingGroupName' --output text)"
  aws autoscaling complete-lifecycle-action --region "$REGION" --auto-scaling-group-name "$group" \
    --lifecycle-hook-name "$DRAIN_HOOK" --instance-id "$INSTANCE_ID" --lifecycle-action-result CONTINUE
  exit 0
done
SH
  chmod 0700 /usr/local/sbin/gpuinfra-gpu-metric /usr/local/sbin/gpuinfra-drain
  cat > /etc/systemd/system/gpuinfra-gpu-metric.service <<'UNIT'
[Unit]
Description=Publish GPU utilisation to CloudWatch
[Service]
Type=oneshot
EnvironmentFile=/etc/gpuinfra/instance.env
ExecStart=/usr/local/sbin/gpuinfra-gpu-metric
UNIT
  cat > /etc/systemd/system/gpuinfra-gpu-metric.timer <<'UNIT'
[Unit]
Description=Publish GPU utilisation every minute
[Timer]
OnBootSec=60
OnUnitActiveSec=60
AccuracySec=5
[Install]
WantedBy=timers.target
UNIT
  cat > /etc/systemd/system/gpuinfra-drain.service <<'UNIT'
[Unit]
Description=Drain vLLM before Auto Scaling terminates the instance
After=docker.service
[Service]
EnvironmentFile=/etc/gpuinfra/instance.env
ExecStart=/usr/local/sbin/gpuinfra-drain
Restart=always
[Install]
WantedBy=multi-user.target
UNIT
  systemctl daemon-reload
  systemctl enable --now gpuinfra-gpu-metric.timer gpuinfra-drain.service
}
