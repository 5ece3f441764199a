"""The deployment checks: the repository's files pass, and each check catches what it is for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.config import Settings
from deploy import ROOT
from deploy.ecs import check_ecs, check_task_definition, placeholders
from deploy.envcoverage import check_env_coverage, settings_variables
from deploy.images import (
    check_api_image_has_no_ml_stack,
    check_dockerfile,
    check_ml_roles_run_the_worker_image,
    dependency_closure,
    installed_requirements,
)
from deploy.manifests import check_compose, check_kubernetes, default_compose_files
from deploy.terraform import check_hcl, findings_of
from deploy.workloads import all_containers, ecs_containers


def test_every_deployment_file_sets_or_defaults_every_setting() -> None:
    containers, findings = all_containers()
    assert findings == []
    sources = {c.source for c in containers}
    assert {
        "docker-compose.yml",
        "aws/ecs/api.json",
        "aws/ecs/worker-transcribe.json",
        "gcp/k8s/worker-transcribe.yaml",
        "gcp/terraform/cloudrun.tf",
    } <= sources
    assert check_env_coverage(containers) == []


def test_variable_names_come_from_the_settings_class() -> None:
    names = settings_variables(Settings)
    assert {"DATABASE_URL", "REDIS_URL", "STORAGE_BACKEND", "QUEUE_METRICS_BACKEND"} <= set(names)
    assert len(names) == len(Settings.model_fields)


def test_a_new_setting_is_flagged_with_where_to_set_it() -> None:
    class Extended(Settings):
        transcript_language: str = ""

    containers, _ = all_containers()
    messages = [f.message for f in check_env_coverage(containers, settings_cls=Extended)]
    assert len(messages) == 1, messages
    assert "new setting TRANSCRIPT_LANGUAGE" in messages[0]
    assert "aws/ecs/*.json" in messages[0] and "gcp/k8s/config.yaml" in messages[0]


def test_a_stale_policy_entry_is_flagged(tmp_path: Path) -> None:
    policy = tmp_path / "env-policy.toml"
    text = (ROOT / "deploy" / "env-policy.toml").read_text()
    policy.write_text(text.replace("[tunable]\n", '[tunable]\nNO_SUCH_SETTING = "gone"\n'))
    messages = [f.message for f in check_env_coverage([], policy_path=policy)]
    assert messages == ["[tunable] names NO_SUCH_SETTING, which no setting reads"]


def _api_task_definition(tmp_path: Path, change: dict[str, str | None]) -> Path:
    """aws/ecs/api.json with environment entries replaced (value None: removed)."""
    data = json.loads((ROOT / "aws" / "ecs" / "api.json").read_text())
    container = data["containerDefinitions"][0]
    container["secrets"] = [s for s in container["secrets"] if s["name"] not in change]
    container["environment"] = [e for e in container["environment"] if e["name"] not in change]
    container["environment"] += [
        {"name": name, "value": value} for name, value in change.items() if value is not None
    ]
    path = tmp_path / "api.json"
    path.write_text(json.dumps(data))
    return path


def test_missing_essential_unknown_variable_and_bad_value_are_flagged(tmp_path: Path) -> None:
    path = _api_task_definition(
        tmp_path,
        {
            "DATABASE_URL": None,
            "PUBLIC_BASE_URL": "",
            "STORAGE_BACKEND": "azure",
            "S3_BUKET": "typo",
            "API_PORT": "9000",
        },
    )
    messages = sorted(str(f) for f in check_env_coverage(ecs_containers(path)))
    text = "\n".join(messages)
    assert "DATABASE_URL (essential) is not set" in text
    assert "PUBLIC_BASE_URL (essential) is not set" in text
    assert "sets S3_BUKET, which the code does not read" in text
    assert "STORAGE_BACKEND='azure'" in text
    assert "sets API_PORT" in text
    # With no valid backend, the s3-only settings have no effect.
    assert "sets STORAGE_BUCKET, which matters only where STORAGE_BACKEND=s3 or " in text
    assert "sets S3_REGION, which matters only where STORAGE_BACKEND=s3" in text
    assert len(messages) == 7, messages


def test_settings_of_one_backend_or_role_are_needed_there_and_refused_elsewhere(
    tmp_path: Path,
) -> None:
    s3_without_bucket = _api_task_definition(tmp_path, {"STORAGE_BUCKET": None})
    messages = [f.message for f in check_env_coverage(ecs_containers(s3_without_bucket))]
    assert messages == ["STORAGE_BUCKET (essential where STORAGE_BACKEND=s3) is not set"]

    local_with_s3_leftovers = _api_task_definition(
        tmp_path, {"STORAGE_BACKEND": "local", "FLOWER_BASIC_AUTH": "a:b"}
    )
    messages = sorted(
        f.message for f in check_env_coverage(ecs_containers(local_with_s3_leftovers))
    )
    assert messages == [
        "STORAGE_DIR (essential where STORAGE_BACKEND=local) is not set",
        "sets FLOWER_BASIC_AUTH, which matters only where role=flower",
        "sets S3_REGION, which matters only where STORAGE_BACKEND=s3",
        "sets STORAGE_BUCKET, which matters only where STORAGE_BACKEND=s3 or STORAGE_BACKEND=gcs",
    ]

    backend_unknown = _api_task_definition(tmp_path, {"STORAGE_BACKEND": "${storage_backend}"})
    messages = [f.message for f in check_env_coverage(ecs_containers(backend_unknown))]
    assert messages and all("STORAGE_BACKEND must be a literal value" in m for m in messages)

    flower = json.loads((ROOT / "aws" / "ecs" / "flower.json").read_text())
    flower["containerDefinitions"][0]["secrets"] = [
        s for s in flower["containerDefinitions"][0]["secrets"] if s["name"] != "FLOWER_BASIC_AUTH"
    ]
    path = tmp_path / "flower.json"
    path.write_text(json.dumps(flower))
    messages = [f.message for f in check_env_coverage(ecs_containers(path))]
    assert messages == ["FLOWER_BASIC_AUTH (essential where role=flower) is not set"]


def test_a_condition_must_name_a_role_or_an_essential_setting_and_a_valid_value(
    tmp_path: Path,
) -> None:
    policy = tmp_path / "env-policy.toml"
    text = (ROOT / "deploy" / "env-policy.toml").read_text()
    policy.write_text(
        text
        + '\n[when."role=printer"]\nHF_TOKEN = "x"\n'
        + '\n[when."STORAGE_BACKEND=azure"]\nMODEL_CACHE_DIR = "x"\n'
        + '\n[when."DEVICE=cuda"]\nCOMPUTE_TYPE = "x"\n'
    )
    messages = [f.message for f in check_env_coverage([], policy_path=policy)]
    text = "\n".join(messages)
    assert "no entrypoint role 'printer'" in text
    assert '[when."STORAGE_BACKEND=azure"]: Input should be' in text
    assert '[when."DEVICE=cuda"]: DEVICE must be [essential]' in text
    assert "HF_TOKEN is in both [tunable] and [when]" in text
    assert len(messages) == 6, messages


def test_the_api_image_installs_no_ml_stack() -> None:
    assert check_api_image_has_no_ml_stack() == []
    chains, missing = dependency_closure(installed_requirements(ROOT / "Dockerfile"))
    assert missing == []
    assert {"fastapi", "celery", "kombu", "sqlalchemy", "starlette"} <= set(chains)


def test_both_worker_roles_run_the_worker_image_everywhere(tmp_path: Path) -> None:
    containers, _ = all_containers()
    workers = [c for c in containers if c.role in ("worker-default", "worker-transcribe")]
    assert {c.source for c in workers} >= {
        "docker-compose.yml",
        "aws/ecs/worker-default.json",
        "gcp/k8s/worker-default.yaml",
    }
    assert check_ml_roles_run_the_worker_image(containers) == []
    data = json.loads((ROOT / "aws" / "ecs" / "worker-default.json").read_text())
    data["containerDefinitions"][0]["image"] = "${api_image}"
    path = tmp_path / "worker-default.json"
    path.write_text(json.dumps(data))
    messages = [f.message for f in check_ml_roles_run_the_worker_image(ecs_containers(path))]
    assert messages == [
        "runs the worker-default role from the API image, which has no torch: use the worker image"
    ]


def test_the_closure_sees_torch_through_requirement_files_and_dependencies(
    tmp_path: Path,
) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        "FROM python:3.11-slim\nRUN pip install --no-cache-dir -r requirements-worker.txt\n"
        "RUN python -m venv /v && /v/bin/pip install faster-whisper==1.2.1\nUSER 1000\n"
    )
    messages = [f.message for f in check_api_image_has_no_ml_stack(dockerfile)]
    assert any(m.startswith("installs torch ") for m in messages), messages
    assert any("faster-whisper -> ctranslate2" in m for m in messages), messages
    assert any(m.startswith("installs nvidia-") for m in messages), messages


def test_both_dockerfiles_run_every_target_as_non_root() -> None:
    assert check_dockerfile(ROOT / "Dockerfile") == []
    assert check_dockerfile(ROOT / "Dockerfile.worker") == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('FROM python:3.11-slim\nHEALTHCHECK CMD true\nENTRYPOINT ["x"]\n', "runs as root"),
        ('FROM python:3.11-slim\nUSER root\nHEALTHCHECK CMD true\nENTRYPOINT ["x"]\n', "root"),
        ('FROM python:3.11-slim\nUSER 0:0\nHEALTHCHECK CMD true\nENTRYPOINT ["x"]\n', "0:0"),
        ('FROM python:3.11-slim\nUSER 10001\nENTRYPOINT ["x"]\n', "no HEALTHCHECK"),
    ],
)
def test_a_root_or_unchecked_target_is_flagged(tmp_path: Path, body: str, expected: str) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(body)
    messages = [f.message for f in check_dockerfile(dockerfile)]
    assert any(expected in m for m in messages), messages


def test_a_builder_stage_may_be_root_when_the_target_is_not(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        "FROM python:3.11-slim AS build\nRUN true\n"
        "FROM python:3.11-slim AS base\nUSER 10001\nHEALTHCHECK CMD true\n"
        'FROM base\nCOPY --from=build /x /x\nENTRYPOINT ["x"]\n'
    )
    assert check_dockerfile(dockerfile) == []


def test_task_definitions_pass_botocore_and_a_broken_one_does_not(tmp_path: Path) -> None:
    findings, count = check_ecs()
    assert (findings, count) == ([], 6)
    original = (ROOT / "aws" / "ecs" / "scheduler.json").read_text()
    data = json.loads(original)
    data["cpu"] = 512  # the API wants a string
    data["containerDefinitions"][0]["essential"] = "yes"
    del data["family"]
    data["containerDefinitions"][1]["image"] = "${no_such_var}"
    data["volumes"].append(
        {
            "name": "shared",
            "efsVolumeConfiguration": {"fileSystemId": "fs-1", "transitEncryption": "DISABLED"},
        }
    )
    path = tmp_path / "scheduler.json"
    path.write_text(json.dumps(data))
    messages = [f.message for f in check_task_definition(path, placeholders(original))]
    assert len(messages) == 5, messages
    text = "\n".join(messages)
    assert "Invalid type for parameter cpu" in text
    assert "Invalid type for parameter containerDefinitions[0].essential" in text
    assert 'Missing required parameter in input: "family"' in text
    assert "${no_such_var} is not in local.ecs_template_vars" in text
    assert "not encrypted in transit" in text


def test_compose_files_match_the_compose_spec_and_a_typo_does_not(tmp_path: Path) -> None:
    findings, _notes = check_compose(default_compose_files())
    assert findings == []
    broken = tmp_path / "docker-compose.yml"
    broken.write_text("services:\n  api:\n    image: x\n    restat: always\n")
    findings, _ = check_compose([broken])
    assert len(findings) == 1 and "restat" in findings[0].message


def test_kubernetes_and_keda_objects_are_validated_strictly(tmp_path: Path) -> None:
    findings, count, _notes = check_kubernetes(ROOT / "gcp" / "k8s")
    assert findings == [] and count >= 12
    (tmp_path / "bad.yaml").write_text(
        "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: w}\n"
        "spec:\n  scaleTargetRef: {name: w}\n  minReplicas: 0\n  triggers: []\n"
        "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n"
        "spec:\n  selector: {matchLabels: {a: b}}\n  replica: 1\n"
        "  template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: i}]}}\n"
    )
    findings, _, _ = check_kubernetes(tmp_path)
    text = "\n".join(str(f) for f in findings)
    assert "ScaledObject/w" in text and "minReplicas" in text
    assert "Deployment/d" in text and "replica" in text


def test_terraform_parses() -> None:
    findings, count = check_hcl([ROOT / "aws" / "terraform", ROOT / "gcp" / "terraform"])
    assert findings == [] and count > 20


def test_checkov_failures_and_reasonless_skips_are_findings() -> None:
    report = {
        "results": {
            "passed_checks": [{"check_id": "CKV_1"}],
            "failed_checks": [{"check_id": "CKV_2", "check_name": "n", "resource": "r"}],
            "skipped_checks": [
                {"check_id": "CKV_3", "check_result": {"suppress_comment": "why"}},
                {"check_id": "CKV_4", "check_result": {"suppress_comment": "No comment provided"}},
            ],
        }
    }
    findings, counts = findings_of([report], "x")
    assert counts == {"passed": 1, "failed": 1, "skipped": 2}
    assert [f.message for f in findings] == [
        "CKV_2 failed: n",
        "CKV_4 is skipped without a reason",
    ]
