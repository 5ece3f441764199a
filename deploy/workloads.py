"""The containers the deployment files run, with the environment each one gets.

Sources: docker-compose.yml services built from our Dockerfiles, the ECS task definitions in
aws/ecs, the Kubernetes workloads in gcp/k8s, and the Cloud Run service and job in
gcp/terraform. A value that comes from a secret store is recorded as SECRET (set, value unknown).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from deploy import ROOT, Finding, rel

SECRET = "<secret>"
IMAGES = ("api", "worker")


@dataclass
class Container:
    """One container of one deployment file."""

    source: str
    name: str
    image: str  # "api" or "worker"
    env: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    read_only_root: bool | None = None
    no_privilege_escalation: bool | None = None
    # The workers/entrypoint.sh role it runs (its first argument), when the file names one.
    role: str | None = None

    @property
    def label(self) -> str:
        """How messages name it."""
        return f"{self.source} [{self.name}]"


class ComposeLoader(yaml.SafeLoader):
    """YAML with compose's merge tags (`!reset`, `!override`) read as plain values."""


def _compose_tag(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


ComposeLoader.add_constructor("!reset", _compose_tag)
ComposeLoader.add_constructor("!override", _compose_tag)


def load_compose(path: Path) -> dict[str, Any]:
    """A compose file as data."""
    data = yaml.load(path.read_text(), Loader=ComposeLoader)  # noqa: S506 (SafeLoader subclass)
    return data if isinstance(data, dict) else {}


def _env_mapping(raw: Any) -> dict[str, str]:
    if isinstance(raw, dict):
        return {str(k): "" if v is None else str(v) for k, v in raw.items()}
    env: dict[str, str] = {}
    for item in raw or []:
        key, _, value = str(item).partition("=")
        env[key] = value
    return env


def role_of(command: Any) -> str | None:
    """The entrypoint role a command names: its first word (`["worker-default"]` -> that)."""
    if isinstance(command, str):
        command = command.split()
    if isinstance(command, list) and command:
        return str(command[0])
    return None


def compose_containers(path: Path) -> list[Container]:
    """Services of a compose file that run one of our images."""
    containers = []
    for name, service in (load_compose(path).get("services") or {}).items():
        build = service.get("build")
        if not isinstance(build, dict):
            continue
        dockerfile = build.get("dockerfile", "Dockerfile")
        image = "worker" if dockerfile.endswith(".worker") else "api"
        containers.append(
            Container(
                source=rel(path),
                name=name,
                image=image,
                env=_env_mapping(service.get("environment")),
                user=str(service["user"]) if "user" in service else None,
                read_only_root=service.get("read_only"),
                no_privilege_escalation="no-new-privileges:true" in service.get("security_opt", []),
                role=role_of(service.get("command")),
            )
        )
    return containers


def ecs_containers(path: Path) -> list[Container]:
    """Containers of an ECS task definition (aws/ecs/*.json)."""
    data = json.loads(path.read_text())
    containers = []
    for definition in data.get("containerDefinitions", []):
        image = "worker" if "worker_image" in definition.get("image", "") else "api"
        env = {item["name"]: item.get("value", "") for item in definition.get("environment", [])}
        env.update({item["name"]: SECRET for item in definition.get("secrets", [])})
        containers.append(
            Container(
                source=rel(path),
                name=definition.get("name", "?"),
                image=image,
                env=env,
                user=definition.get("user"),
                read_only_root=definition.get("readonlyRootFilesystem"),
                no_privilege_escalation=not definition.get("privileged", False),
                role=role_of(definition.get("command")),
            )
        )
    return containers


def load_k8s(folder: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Every object of every manifest in the folder (kustomization.yaml included)."""
    objects = []
    for path in sorted(folder.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict):
                objects.append((path, doc))
    return objects


def _pod_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"):
        return spec.get("template", {}).get("spec")
    if kind == "CronJob":
        return spec.get("jobTemplate", {}).get("spec", {}).get("template", {}).get("spec")
    if kind == "Pod":
        return spec
    return None


def k8s_containers(folder: Path) -> tuple[list[Container], list[Finding]]:
    """Containers of the Kubernetes workloads that run one of our images."""
    objects = load_k8s(folder)
    config_maps = {
        obj["metadata"]["name"]: {str(k): str(v) for k, v in (obj.get("data") or {}).items()}
        for _, obj in objects
        if obj.get("kind") == "ConfigMap"
    }
    containers: list[Container] = []
    findings: list[Finding] = []
    for path, obj in objects:
        pod = _pod_spec(obj)
        if pod is None:
            continue
        pod_security = pod.get("securityContext") or {}
        for item in pod.get("initContainers", []) + pod.get("containers", []):
            image_ref = str(item.get("image", ""))
            image = next((i for i in IMAGES if image_ref.startswith(f"scribe-{i}")), None)
            if image is None:
                continue
            where = f"{rel(path)} [{obj['metadata']['name']}/{item['name']}]"
            env: dict[str, str] = {}
            for source in item.get("envFrom", []):
                if "configMapRef" in source:
                    ref = source["configMapRef"]["name"]
                    if ref not in config_maps:
                        findings.append(
                            Finding("env-coverage", where, f"ConfigMap {ref} not found")
                        )
                    env.update(config_maps.get(ref, {}))
                else:
                    findings.append(
                        Finding(
                            "env-coverage",
                            where,
                            "envFrom a Secret hides which variables it sets; "
                            "list them as env entries with secretKeyRef",
                        )
                    )
            for entry in item.get("env", []):
                if "value" in entry:
                    env[entry["name"]] = str(entry["value"])
                elif "configMapKeyRef" in (entry.get("valueFrom") or {}):
                    ref = entry["valueFrom"]["configMapKeyRef"]
                    env[entry["name"]] = config_maps.get(ref["name"], {}).get(ref["key"], "")
                else:
                    env[entry["name"]] = SECRET
            security = {**pod_security, **(item.get("securityContext") or {})}
            run_as = security.get("runAsUser")
            containers.append(
                Container(
                    source=rel(path),
                    name=f"{obj['metadata']['name']}/{item['name']}",
                    image=image,
                    env=env,
                    user=None if run_as is None else str(run_as),
                    read_only_root=security.get("readOnlyRootFilesystem"),
                    no_privilege_escalation=security.get("allowPrivilegeEscalation") is False,
                    role=role_of(item.get("args") or item.get("command")),
                )
            )
            if security.get("runAsNonRoot") is not True:
                findings.append(Finding("non-root", where, "runAsNonRoot is not true"))
    return containers, findings


_LOCAL_REF = re.compile(r"^\$\{local\.([A-Za-z0-9_]+)\}$")


def unquote(value: Any) -> Any:
    """python-hcl2 keeps string literals quoted ('"x"'); expressions stay as '${...}'."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return json.loads(value)
    if isinstance(value, dict):
        return {unquote(k): unquote(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unquote(v) for v in value]
    return value


def load_terraform(path: Path) -> dict[str, Any]:
    """A Terraform file as data, string literals unquoted."""
    import hcl2

    with path.open() as handle:
        return dict(unquote(hcl2.load(handle)))


def terraform_locals(folder: Path) -> dict[str, Any]:
    """Every `locals` value of a Terraform folder."""
    values: dict[str, Any] = {}
    for path in sorted(folder.glob("*.tf")):
        for block in load_terraform(path).get("locals", []):
            values.update({k: v for k, v in block.items() if k != "__is_block__"})
    return values


def _cloud_run_env(container: dict[str, Any], local_values: dict[str, Any]) -> dict[str, str]:
    env: dict[str, str] = {}
    for entry in container.get("env", []):
        env[entry["name"]] = SECRET if "value_source" in entry else str(entry.get("value", ""))
    for dynamic in container.get("dynamic", []):
        for block_name, block in dynamic.items():
            if block_name != "env":
                continue
            match = _LOCAL_REF.match(str(block.get("for_each", "")))
            if not match or not isinstance(local_values.get(match.group(1)), dict):
                raise ValueError(f"dynamic env over {block.get('for_each')!r} cannot be read")
            content = block.get("content", [{}])
            content = content[0] if isinstance(content, list) else content
            secret = "value_source" in content
            for key, value in local_values[match.group(1)].items():
                env[key] = SECRET if secret else str(value)
    return env


def cloud_run_containers(folder: Path) -> list[Container]:
    """Containers of the Cloud Run services and jobs in a Terraform folder."""
    local_values = terraform_locals(folder)
    containers = []
    for path in sorted(folder.glob("*.tf")):
        parsed = load_terraform(path)
        for resource in parsed.get("resource", []):
            for kind, named in resource.items():
                if kind not in ("google_cloud_run_v2_service", "google_cloud_run_v2_job"):
                    continue
                for name, body in named.items():
                    template = body["template"][0]
                    if kind == "google_cloud_run_v2_job":
                        template = template["template"][0]
                    for container in template.get("containers", []):
                        image = "worker" if "worker_image" in str(container["image"]) else "api"
                        containers.append(
                            Container(
                                source=rel(path),
                                name=f"{kind}.{name}",
                                image=image,
                                env=_cloud_run_env(container, local_values),
                                role=role_of(container.get("args")),
                            )
                        )
    return containers


def all_containers(root: Path = ROOT) -> tuple[list[Container], list[Finding]]:
    """Every container of every deployment file, and problems found while reading them."""
    containers = compose_containers(root / "docker-compose.yml")
    for path in sorted((root / "aws" / "ecs").glob("*.json")):
        containers += ecs_containers(path)
    k8s, findings = k8s_containers(root / "gcp" / "k8s")
    containers += k8s
    containers += cloud_run_containers(root / "gcp" / "terraform")
    return containers, findings
