"""Compose files and Kubernetes manifests validated against their schemas, offline.

- Compose: the Compose Specification's JSON schema, as vendored by check-jsonschema.
- Kubernetes: kubernetes-validate's schemas (strict: unknown fields are errors).
- KEDA objects: the JSON schema of cloudcoil's KEDA models (generated from KEDA's CRDs), made
  strict the same way.
The compose stack's bind mounts of ops/ (dashboards, alert rules) are reported when missing.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from deploy import ROOT, Finding, rel
from deploy.workloads import load_compose, load_k8s

KUBERNETES_VERSION = "1.33.0"  # the oldest minor version GKE's regular channel offers
SKIPPED_KINDS = {
    # Not a cluster object: kustomize's own build file, read by `kubectl apply -k`.
    ("kustomize.config.k8s.io/v1beta1", "Kustomization"): "kustomize build configuration",
}


def compose_schema() -> dict[str, Any]:
    """The Compose Specification schema that check-jsonschema ships."""
    text = (
        resources.files("check_jsonschema.builtin_schemas.vendor")
        .joinpath("compose-spec.json")
        .read_text()
    )
    return dict(json.loads(text))


def check_compose(paths: list[Path]) -> tuple[list[Finding], list[str]]:
    """Schema errors of each compose file, and notes about missing bind-mount sources."""
    import jsonschema

    validator_cls = jsonschema.validators.validator_for(compose_schema())
    validator = validator_cls(compose_schema())
    findings = []
    notes = []
    for path in paths:
        data = load_compose(path)
        for error in sorted(validator.iter_errors(data), key=lambda e: list(e.path)):
            location = "/".join(str(p) for p in error.path) or "(top)"
            findings.append(Finding("compose", f"{rel(path)} {location}", error.message))
        for name, service in (data.get("services") or {}).items():
            for volume in service.get("volumes", []):
                source = str(volume).split(":", 1)[0] if isinstance(volume, str) else ""
                if source.startswith("./") and not (path.parent / source).exists():
                    notes.append(f"{rel(path)} [{name}]: {source} does not exist yet")
    return findings, notes


def strict(schema: Any) -> Any:
    """A JSON schema where objects with declared properties accept no others."""
    if isinstance(schema, dict):
        out = {k: strict(v) for k, v in schema.items()}
        if "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [strict(v) for v in schema]
    return schema


@cache
def keda_schemas() -> dict[str, dict[str, Any]]:
    """kind -> strict JSON schema of KEDA's ScaledObject and TriggerAuthentication."""
    from cloudcoil.models.keda import v1alpha1

    schemas = {}
    for kind in ("ScaledObject", "TriggerAuthentication", "ScaledJob"):
        model = getattr(v1alpha1, kind)
        schema = strict(model.model_json_schema(by_alias=True))
        # metadata is Kubernetes ObjectMeta (already checked by kubectl); keep the spec strict.
        schema["properties"]["metadata"] = {"type": "object"}
        schemas[kind] = schema
    return schemas


def validate_object(obj: dict[str, Any]) -> list[str]:
    """Schema errors of one Kubernetes object (empty when valid)."""
    import jsonschema
    import kubernetes_validate

    api_version, kind = obj.get("apiVersion", ""), obj.get("kind", "")
    if api_version.startswith("keda.sh/"):
        if kind not in keda_schemas():
            return [f"no schema for KEDA kind {kind}"]
        validator = jsonschema.Draft202012Validator(keda_schemas()[kind])
        return [
            f"{'/'.join(str(p) for p in e.path) or '(top)'}: {e.message}"
            for e in validator.iter_errors(obj)
        ]
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [f"{'/'.join(str(p) for p in exc.path) or '(top)'}: {exc.message}"]
    except kubernetes_validate.SchemaNotFoundError:
        return [f"no schema for {api_version} {kind}"]
    return []


def check_kubernetes(folder: Path) -> tuple[list[Finding], int, list[str]]:
    """Every object in the folder; returns findings, objects validated, and skipped notes."""
    findings = []
    count = 0
    notes = []
    for path, obj in load_k8s(folder):
        key = (obj.get("apiVersion", ""), obj.get("kind", ""))
        if key in SKIPPED_KINDS:
            notes.append(f"{rel(path)}: {key[1]} not validated ({SKIPPED_KINDS[key]})")
            continue
        count += 1
        name = (obj.get("metadata") or {}).get("name", "?")
        for error in validate_object(obj):
            findings.append(Finding("kubernetes", f"{rel(path)} {key[1]}/{name}", error))
    return findings, count, notes


def default_compose_files(root: Path = ROOT) -> list[Path]:
    """The compose files of the repository."""
    return sorted(root.glob("docker-compose*.yml"))
