"""Offline preview: the real stack program under Pulumi's mock runtime, with CLI-identical config."""

from components.preview.config import (
    PreviewConfigError,
    Project,
    encode_stack_config,
    load_raw_config,
    read_project,
    read_stack_config,
)
from components.preview.manifests import render_k8s
from components.preview.mocks import INVOKES, RESOURCE_OUTPUTS, GpuinfraMocks, UnknownInvokeError
from components.preview.plan import DOCUMENT_KEYS, Plan, exit_status, plan, plan_document
from components.preview.recorder import RecordingMonitor, ResourceRecord
from components.preview.render import render_text
from components.preview.run import PlanRun, ProgramError, ProgramExit, run_program
from components.preview.sections import build_sections

__all__ = [
    "DOCUMENT_KEYS", "INVOKES", "RESOURCE_OUTPUTS", "GpuinfraMocks", "Plan", "PlanRun", "PreviewConfigError",
    "ProgramError", "ProgramExit", "Project", "RecordingMonitor", "ResourceRecord", "UnknownInvokeError",
    "build_sections", "encode_stack_config", "exit_status", "load_raw_config", "plan", "plan_document",
    "read_project", "read_stack_config", "render_k8s", "render_text", "run_program",
]
