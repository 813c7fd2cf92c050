"""VM-mode serving in one region: security groups, internal load balancer, API-key secret, per-pool fleets."""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.aws.instance_group import RESERVED_TIERS, GpuInstanceGroup, GpuInstanceGroupArgs
from components.aws.launch_template import GpuLaunchTemplate, GpuLaunchTemplateArgs
from components.catalog.vocab import AWS, bucket_url
from components.plan import names
from components.plan.aws_policies import reader_policy
from components.plan.aws_pools import AwsPoolPlan, VmFleetPlan
from components.plan.bootstrap import DRAIN_SECONDS, METRICS_NAMESPACE, VmBootstrap, vm_cloud_init
from components.plan.vm_scaling import VmScalingPlan
from components.secrets import vllm_api_key
from components.spec import ConfigError
from components.spec.errors import key_path

SERVING_PORT = 8000
METRICS_PORTS = {"dcgm": 9400, "node": 9100}


@dataclass(frozen=True)
class VmServingFleetArgs:
    """Inputs of one region's VM-mode fleet.

    Attributes:
        plan: The region's fleet (``AwsPlan.vm_fleets``): its pools, load balancer kind, monitoring networks, tags.
        private_subnet_ids_by_az: The VPC's private subnets keyed by AZ name.
        spread_zones: Zones a pool without ``zones`` spreads over (empty: every zone); a zone added only for a
            reservation serves just its reserved rung.
        reservations: Reservation name -> object with ``id`` and plain ``availability_zone`` (AwsReservations).
        kms_key_arn: Key encrypting the weights bucket, if any (the readers get kms:Decrypt on it).
        scaling: Pool -> its fleet group's scaling policy (``AwsPlan.vm_scaling``; absent: fixed size).
    """

    plan: VmFleetPlan
    region: str
    vpc_id: pulumi.Input[str]
    vpc_cidr: pulumi.Input[str]
    private_subnet_ids_by_az: Mapping[str, pulumi.Input[str]]
    bucket_name: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str] | None = None
    spread_zones: tuple[str, ...] = ()
    reservations: Mapping[str, Any] = field(default_factory=dict)
    scaling: Mapping[str, VmScalingPlan] = field(default_factory=dict)


def instance_policy(bucket_arn: str, prefix: str, secret_arn: str, model: str, environment: str,
                    kms_key_arn: str | None) -> dict:
    """A serving VM's identity policy: read its model revision, its API key, publish its GPU metric, drain."""
    doc = reader_policy(bucket_arn, [prefix], kms_key_arn)
    doc["Statement"] += [
        {"Sid": "ReadApiKey", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secret_arn},
        {"Sid": "PublishGpuMetric", "Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*",
         "Condition": {"StringEquals": {"cloudwatch:namespace": METRICS_NAMESPACE}}},
        {"Sid": "FindOwnGroup", "Effect": "Allow", "Action": "autoscaling:DescribeAutoScalingInstances", "Resource": "*"},
        {"Sid": "CompleteDrainHook", "Effect": "Allow", "Action": "autoscaling:CompleteLifecycleAction", "Resource": "*",
         "Condition": {"StringEquals": {"aws:ResourceTag/Model": model, "aws:ResourceTag/Environment": environment}}},
    ]
    return doc


class VmServingFleet(pulumi.ComponentResource):
    """Internal load balancer -> per-pool Auto Scaling groups of GPU VMs running vLLM from local NVMe.

    Attributes:
        load_balancer_dns: Internal DNS name clients in the VPC call (port per pool in ``endpoints``).
        endpoints: Pool name -> ``http://<lb>:<port>/v1``.
        monitoring_security_group_id: Put the scraper in this group to reach ports 8000 (vLLM /metrics), 9400, 9100.
        api_key_secret_arn: Secrets Manager secret holding the vLLM API key.
    """

    load_balancer_dns: pulumi.Output[str]
    endpoints: dict[str, pulumi.Output[str]]
    monitoring_security_group_id: pulumi.Output[str]
    api_key_secret_arn: pulumi.Output[str]

    def __init__(self, name: str, args: VmServingFleetArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("gpuinfra:aws:VmServingFleet", name, None, opts)
        self._args, self._name = args, name
        self._pools = args.plan.pools
        self._ports = {p.name: SERVING_PORT + i for i, p in enumerate(self._pools)}
        self._tags = dict(args.plan.tags)
        lb_sg, monitoring_sg, instance_sg = self._create_security_groups()
        lb = self._create_load_balancer(lb_sg)
        secret = self._create_api_key_secret()
        self.endpoints = {p.name: self._create_pool(p, lb, instance_sg, secret) for p in self._pools}
        self.load_balancer_dns = lb.dns_name
        self.monitoring_security_group_id = monitoring_sg.id
        self.api_key_secret_arn = secret.arn
        self.register_outputs({"load_balancer_dns": self.load_balancer_dns, "endpoints": self.endpoints,
                               "monitoring_security_group_id": self.monitoring_security_group_id,
                               "api_key_secret_arn": self.api_key_secret_arn})

    def _child(self, **kwargs: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, **kwargs)

    def _rule(self, key: str, sg: aws.ec2.SecurityGroup, direction: str, port: int, proto: str = "tcp",
              **source: Any) -> None:
        kind = aws.vpc.SecurityGroupIngressRule if direction == "in" else aws.vpc.SecurityGroupEgressRule
        kind(f"{self._name}-{key}", security_group_id=sg.id, ip_protocol=proto, from_port=port, to_port=port,
             tags=self._tags, **source, opts=self._child())

    def _create_security_groups(self) -> tuple[aws.ec2.SecurityGroup, ...]:
        """LB <- VPC clients; instances <- LB on 8000 and <- monitoring on 8000 and metrics ports; egress 443 + DNS."""
        vpc, cidr = self._args.vpc_id, self._args.vpc_cidr
        groups = {role: aws.ec2.SecurityGroup(f"{self._name}-{role}-sg", vpc_id=vpc, description=text,
                                              tags=self._tags, opts=self._child())
                  for role, text in (("lb", "gpuinfra internal serving load balancer"),
                                     ("monitoring", "gpuinfra scrapers of VM-mode exporters"),
                                     ("instance", "gpuinfra VM-mode GPU servers"))}
        lb, mon, inst = groups["lb"], groups["monitoring"], groups["instance"]
        for pool, port in self._ports.items():
            self._rule(f"lb-in-{pool}", lb, "in", port, cidr_ipv4=cidr)
        self._rule("lb-out-serving", lb, "out", SERVING_PORT, referenced_security_group_id=inst.id)
        self._rule("instance-in-serving", inst, "in", SERVING_PORT, referenced_security_group_id=lb.id)
        # vLLM serves /metrics on its API port (vLLM docs usage/metrics.md "exposed via the /metrics endpoint on
        # the vLLM OpenAI compatible API server"; v0.34.0 has no separate metrics-port flag, vllm_cli/v0.34.0.txt),
        # which the VM scrape config's `vllm` job reads (components/plan/scrape.py): the monitoring group, and only
        # it, may reach that port too (not monitoring_cidrs).
        self._rule("instance-in-vllm-metrics", inst, "in", SERVING_PORT, referenced_security_group_id=mon.id)
        self._rule("monitoring-out-vllm-metrics", mon, "out", SERVING_PORT, referenced_security_group_id=inst.id)
        for metric, port in METRICS_PORTS.items():
            self._rule(f"instance-in-{metric}", inst, "in", port, referenced_security_group_id=mon.id)
            self._rule(f"monitoring-out-{metric}", mon, "out", port, referenced_security_group_id=inst.id)
            for net in self._args.plan.monitoring_cidrs:
                self._rule(f"instance-in-{metric}-{net}".replace("/", "-"), inst, "in", port, cidr_ipv4=net)
        # HTTPS to S3 (gateway endpoint), Secrets Manager, CloudWatch, image registries; DNS to the VPC resolver.
        self._rule("instance-out-https", inst, "out", 443, cidr_ipv4="0.0.0.0/0")
        for proto in ("udp", "tcp"):
            self._rule(f"instance-out-dns-{proto}", inst, "out", 53, proto, cidr_ipv4=cidr)
        return lb, mon, inst

    def _create_load_balancer(self, lb_sg: aws.ec2.SecurityGroup) -> aws.lb.LoadBalancer:
        kind = "network" if self._args.plan.load_balancer == "nlb" else "application"
        return aws.lb.LoadBalancer(
            f"serving-lb-{self._args.region}",  # the cost model's item name
            internal=True, load_balancer_type=kind, security_groups=[lb_sg.id],
            subnets=list(self._args.private_subnet_ids_by_az.values()),
            enable_cross_zone_load_balancing=True, tags=self._tags, opts=self._child())

    def _create_api_key_secret(self) -> aws.secretsmanager.Secret:
        """The key VMs fetch at boot (never in user data); a Pulumi secret in state."""
        secret = aws.secretsmanager.Secret(f"{self._name}-api-key", description="vLLM API key (gpuinfra VM mode)",
                                           tags=self._tags, opts=self._child())
        aws.secretsmanager.SecretVersion(f"{self._name}-api-key-value", secret_id=secret.id,
                                         secret_string=vllm_api_key(), opts=self._child())
        return secret

    def _create_target(self, pool: AwsPoolPlan, lb: aws.lb.LoadBalancer) -> aws.lb.TargetGroup:
        nlb = self._args.plan.load_balancer == "nlb"
        proto = "TCP" if nlb else "HTTP"
        target = aws.lb.TargetGroup(
            f"{self._name}-{pool.name}-tg", port=SERVING_PORT, protocol=proto, target_type="instance",
            vpc_id=self._args.vpc_id, deregistration_delay=DRAIN_SECONDS,
            # Source = the NLB's own address, so the instance rule referencing the LB security group matches.
            preserve_client_ip="false" if nlb else None,
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                enabled=True, protocol="HTTP", path="/health", port=str(SERVING_PORT), matcher="200",
                interval=15, healthy_threshold=2, unhealthy_threshold=3),
            tags=self._tags, opts=self._child())
        aws.lb.Listener(
            f"{self._name}-{pool.name}-listener", load_balancer_arn=lb.arn, port=self._ports[pool.name], protocol=proto,
            default_actions=[aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=target.arn)],
            tags=self._tags, opts=self._child())
        return target

    def _create_profile(self, pool: AwsPoolPlan, model: str, prefix: str,
                        secret: aws.secretsmanager.Secret, tags: dict[str, str]) -> aws.iam.InstanceProfile:
        args = self._args
        assume = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                         "Principal": {"Service": "ec2.amazonaws.com"}}]}
        role = aws.iam.Role(f"{self._name}-{pool.name}-role", assume_role_policy=json.dumps(assume), tags=tags,
                            opts=self._child())
        policy = pulumi.Output.all(args.bucket_arn, secret.arn, args.kms_key_arn).apply(
            lambda v: json.dumps(instance_policy(v[0], prefix, v[1], model, args.plan.environment, v[2])))
        aws.iam.RolePolicy(f"{self._name}-{pool.name}-policy", role=role.id, policy=policy, opts=self._child())
        return aws.iam.InstanceProfile(f"{self._name}-{pool.name}-profile", role=role.name, tags=tags,
                                       opts=self._child())

    def _subnet(self, pool: AwsPoolPlan, az: str, *key: str) -> pulumi.Input[str]:
        """The private subnet of ``az``; a zone the VPC does not cover is a config error at ``key``."""
        subnets = self._args.private_subnet_ids_by_az
        if az not in subnets:
            raise ConfigError(key_path(("aws", "gpu_pools", pool.index, *key)),
                              f"zone {az!r} has no private subnet in the VPC (zones: {', '.join(subnets)})")
        return subnets[az]

    def _create_pool(self, pool: AwsPoolPlan, lb: aws.lb.LoadBalancer, instance_sg: aws.ec2.SecurityGroup,
                     secret: aws.secretsmanager.Secret) -> pulumi.Output[str]:
        """Target group, listener, instance profile, launch template(s) and Auto Scaling group(s) of one pool."""
        args, serving = self._args, pool.serving
        assert serving is not None, "VM-mode pools carry their serving plan"
        tags, prefix = dict(pool.tags), serving.weights_prefix
        scaling = args.scaling.get(pool.name)
        target = self._create_target(pool, lb)
        profile = self._create_profile(pool, serving.model, prefix, secret, tags)
        user_data = pulumi.Output.all(args.bucket_name, secret.arn).apply(lambda v: vm_cloud_init(VmBootstrap(
            cloud=AWS, model=serving.model, weights_uri=bucket_url(AWS, v[0], prefix), engine_args=serving.engine_args,
            vllm_image=serving.vllm_image, dcgm_exporter_image=serving.dcgm_exporter_image,
            node_exporter_image=serving.node_exporter_image, api_key_secret=v[1], region=args.region,
            queue_pool=scaling.pool if scaling else "",
            waiting_metric=scaling.waiting_metric if scaling else VmBootstrap.waiting_metric)))
        ladder = pool.ladder

        def template(key: str, **extra: Any) -> GpuLaunchTemplate:
            return GpuLaunchTemplate(f"{self._name}-{key}", GpuLaunchTemplateArgs(
                plan=pool.launch_template, region=args.region, mode="vm", user_data=user_data,
                security_group_ids=[instance_sg.id], instance_profile_arn=profile.arn, **extra),
                opts=self._child())

        reserved = next((r for r in ladder.rungs if r.tier in RESERVED_TIERS), None)
        reserved_lt = reserved_subnet = None
        if reserved is not None:
            backing = args.reservations[reserved.reservation]
            reserved_lt = template(names.rung_name(pool.name, reserved.tier), capacity_reservation_id=backing.id,
                                   capacity_block=reserved.tier == "capacity-block",
                                   instance_type=reserved.instance_types[0])
            reserved_subnet = self._subnet(pool, backing.availability_zone, "capacity", "reservation")
        zones = pool.zones or list(args.spread_zones or args.private_subnet_ids_by_az)
        GpuInstanceGroup(f"{self._name}-{pool.name}", GpuInstanceGroupArgs(
            pool=pool, ladder=ladder, launch_template=template(pool.name),
            subnet_ids=[self._subnet(pool, z, "zones") for z in zones], target_group_arns=[target.arn], tags=tags,
            health_check_grace_seconds=serving.health_check_grace_seconds,
            reserved_launch_template=reserved_lt, reserved_subnet_id=reserved_subnet, scaling=scaling),
            opts=self._child())
        return pulumi.Output.concat("http://", lb.dns_name, f":{self._ports[pool.name]}/v1")
