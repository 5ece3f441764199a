"""ECS task definitions (aws/ecs/*.json) checked against the ECS API's own input model.

Each file is a RegisterTaskDefinition request with Terraform ${...} placeholders. With the
placeholders filled in, botocore's parameter validator (the one the AWS SDK runs before sending
a request) must accept it. The placeholders must be exactly those aws/terraform passes in
local.ecs_template_vars, and every EFS volume must encrypt in transit.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from deploy import ROOT, Finding, rel
from deploy.workloads import terraform_locals

CHECK = "ecs"
PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


def placeholders(text: str) -> set[str]:
    """The ${name} placeholders of a template."""
    return set(PLACEHOLDER.findall(text))


def fill(text: str) -> Any:
    """The template as a request, each placeholder replaced by a sample string."""
    return json.loads(PLACEHOLDER.sub(lambda m: f"sample-{m.group(1)}", text))


def validate_request(params: dict[str, Any]) -> list[str]:
    """botocore's own validation of a RegisterTaskDefinition request; one line per error."""
    import botocore.session
    from botocore.exceptions import ParamValidationError
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model("ecs")
    shape = model.operation_model("RegisterTaskDefinition").input_shape
    report = ParamValidator().validate(params, shape)
    if not report.has_errors():
        return []
    error = ParamValidationError(report=report.generate_report())
    return [line.strip() for line in str(error).splitlines()[1:] if line.strip()]


def check_task_definition(path: Path, template_vars: set[str] | None) -> list[Finding]:
    """One task definition file."""
    where = rel(path)
    text = path.read_text()
    findings = [Finding(CHECK, where, line) for line in validate_request(fill(text))]
    if template_vars is not None:
        for name in sorted(placeholders(text) - template_vars):
            findings.append(Finding(CHECK, where, f"${{{name}}} is not in local.ecs_template_vars"))
    request = fill(text)
    for volume in request.get("volumes", []):
        efs = volume.get("efsVolumeConfiguration")
        if efs and efs.get("transitEncryption") != "ENABLED":
            findings.append(
                Finding(CHECK, where, f"EFS volume {volume['name']} is not encrypted in transit")
            )
    for container in request.get("containerDefinitions", []):
        if container.get("logConfiguration", {}).get("logDriver") != "awslogs":
            findings.append(Finding(CHECK, where, f"{container['name']} logs nowhere"))
    return findings


def check_ecs(root: Path = ROOT) -> tuple[list[Finding], int]:
    """All task definitions; returns findings and how many files were checked."""
    files = sorted((root / "aws" / "ecs").glob("*.json"))
    local_values = terraform_locals(root / "aws" / "terraform")
    template_vars = set(local_values.get("ecs_template_vars", {}))
    findings: list[Finding] = []
    used: set[str] = set()
    for path in files:
        findings += check_task_definition(path, template_vars)
        used |= placeholders(path.read_text())
    for name in sorted(template_vars - used):
        findings.append(
            Finding(CHECK, "aws/terraform/services.tf", f"ecs_template_vars.{name} is never used")
        )
    roles = re.findall(r'"([a-z-]+)"', str(local_values.get("task_definitions", "")))
    for role in roles:
        if not (root / "aws" / "ecs" / f"{role}.json").exists():
            findings.append(Finding(CHECK, "aws/terraform/services.tf", f"no aws/ecs/{role}.json"))
    for path in files:
        if path.stem not in roles:
            findings.append(
                Finding(CHECK, rel(path), "not registered by aws/terraform (task_definitions)")
            )
    return findings, len(files)
