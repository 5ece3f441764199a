"""Every environment variable the code reads is set or defaulted in every deployment file.

The variable list comes from app.config.Settings (pydantic-settings: the upper-cased field
names), so a new setting is noticed without anyone updating this check. deploy/env-policy.toml
says, for each, whether a deployment must set it ([essential]), must set it only in some
containers ([when."SETTING=value"] or [when."role=ROLE"]: essential where the condition holds,
an error where none of its conditions holds), may rely on the code default ([tunable]), must not
set it ([ignored]), or is not a setting but read by a library ([library]).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from deploy import ROOT, Finding, rel
from deploy.images import image_env, parse_dockerfile
from deploy.workloads import SECRET, Container

POLICY = ROOT / "deploy" / "env-policy.toml"
SECTIONS = ("essential", "tunable", "ignored", "library")
CHECK = "env-coverage"
# The roles of workers/entrypoint.sh, which a [when."role=..."] condition may name.
ROLES = (
    "api",
    "migrate",
    "worker-transcribe",
    "worker-default",
    "beat",
    "flower",
    "queue-metrics",
)
WHERE_TO_SET = (
    "docker-compose.yml (x-app-env), aws/ecs/*.json, gcp/k8s/config.yaml (or a secretKeyRef) "
    "and gcp/terraform/cloudrun.tf (local.run_env or local.run_secrets)"
)


@dataclass(frozen=True)
class Variable:
    """One environment variable the settings read."""

    env: str
    field: str
    required: bool
    default: str


def settings_variables(settings_cls: type[BaseSettings]) -> dict[str, Variable]:
    """Environment name -> variable, for every field of a pydantic-settings class."""
    prefix = str(settings_cls.model_config.get("env_prefix", ""))
    variables = {}
    for name, info in settings_cls.model_fields.items():
        alias = info.validation_alias if isinstance(info.validation_alias, str) else None
        env = (alias or prefix + name).upper()
        default = "" if info.is_required() else repr(info.get_default(call_default_factory=True))
        variables[env] = Variable(env, name, info.is_required(), default)
    return variables


def load_policy(path: Path = POLICY) -> dict[str, dict[str, str]]:
    """The policy's sections (name -> reason); each condition of [when] is a section of its own,
    keyed "when NAME=value" or "when role=ROLE"."""
    data = tomllib.loads(path.read_text())
    policy = {section: dict(data.get(section, {})) for section in SECTIONS}
    for condition, names in dict(data.get("when", {})).items():
        policy[f"when {condition}"] = dict(names)
    return policy


def conditions(policy: dict[str, dict[str, str]]) -> dict[str, list[str]]:
    """Setting -> the conditions ("NAME=value" or "role=ROLE") under which it matters."""
    found: dict[str, list[str]] = {}
    for section, names in policy.items():
        if section.startswith("when "):
            for name in names:
                found.setdefault(name, []).append(section.removeprefix("when "))
    return found


def _default_text(settings_cls: type[BaseSettings], variable: Variable) -> str:
    value = settings_cls.model_fields[variable.field].get_default(call_default_factory=True)
    return "" if value is None else str(value)


def holds(
    condition: str,
    container: Container,
    variables: dict[str, Variable],
    settings_cls: type[BaseSettings],
) -> bool | None:
    """Whether a condition holds for a container; None when its value cannot be read here."""
    name, _, wanted = condition.partition("=")
    if name == "role":
        return container.role == wanted
    if name not in variables:
        return False  # check_policy reports the condition
    value = container.env.get(name)
    if value is None:
        value = _default_text(settings_cls, variables[name])
    if value == SECRET or "${" in value:
        return None
    return value == wanted


def _isolated(settings_cls: type[BaseSettings]) -> type[BaseSettings]:
    class Isolated(settings_cls):  # type: ignore[valid-type,misc]
        """The settings class reading only what it is given (no environment, no .env)."""

        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            *_: Any,
            **__: Any,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings,)

    return Isolated


def invalid_value(isolated: type[BaseSettings], variable: Variable, value: str) -> str | None:
    """Why `value` is not valid for the variable, or None when it is."""
    values: dict[str, Any] = {variable.field: value}
    try:
        isolated(**values)
    except ValidationError as exc:
        errors = [e for e in exc.errors() if e["loc"] and e["loc"][0] == variable.field]
        if errors:
            return str(errors[0]["msg"])
    return None


def check_policy(
    variables: dict[str, Variable],
    policy: dict[str, dict[str, str]],
    settings_cls: type[BaseSettings] | None = None,
) -> list[Finding]:
    """Every setting is classified once; the policy names no setting that no longer exists."""
    findings = []
    where = rel(POLICY)
    classified: dict[str, str] = {}
    for section in SECTIONS:
        for name in policy[section]:
            if name in classified:
                findings.append(
                    Finding(CHECK, where, f"{name} is in both [{classified[name]}] and [{section}]")
                )
            classified[name] = section
    for name in conditions(policy):
        if name in classified:
            findings.append(
                Finding(CHECK, where, f"{name} is in both [{classified[name]}] and [when]")
            )
        classified[name] = "when"
    findings += _check_conditions(variables, policy, settings_cls)
    for env, var in sorted(variables.items()):
        found = classified.get(env)
        if found is None:
            findings.append(
                Finding(
                    CHECK,
                    where,
                    f"new setting {env} (Settings.{var.field}, default {var.default or 'none'}) "
                    f"is not classified: put it in [essential] and set it in {WHERE_TO_SET}, or "
                    "in [tunable] with the reason its default suits production",
                )
            )
        elif found == "library":
            findings.append(
                Finding(
                    CHECK,
                    where,
                    f"{env} is now a setting (Settings.{var.field}): move it from [library] to "
                    "[essential] or [tunable]",
                )
            )
        elif var.required and found != "essential":
            findings.append(Finding(CHECK, where, f"{env} has no default: it must be [essential]"))
    for section in ("essential", "tunable", "ignored"):
        for name in policy[section]:
            if name not in variables:
                findings.append(
                    Finding(CHECK, where, f"[{section}] names {name}, which no setting reads")
                )
    for name, where_it_matters in conditions(policy).items():
        if name not in variables:
            findings.append(
                Finding(
                    CHECK,
                    where,
                    f'[when."{where_it_matters[0]}"] names {name}, which no setting reads',
                )
            )
    return findings


def _check_conditions(
    variables: dict[str, Variable],
    policy: dict[str, dict[str, str]],
    settings_cls: type[BaseSettings] | None,
) -> list[Finding]:
    """Each [when] condition names a role of the entrypoint, or a setting and a valid value."""
    if settings_cls is None:
        from app.config import Settings

        settings_cls = Settings
    findings = []
    where = rel(POLICY)
    for section in policy:
        if not section.startswith("when "):
            continue
        condition = section.removeprefix("when ")
        name, sep, value = condition.partition("=")
        if not sep:
            findings.append(Finding(CHECK, where, f'[when."{condition}"] is not NAME=value'))
        elif name == "role":
            if value not in ROLES:
                findings.append(
                    Finding(CHECK, where, f'[when."{condition}"]: no entrypoint role {value!r}')
                )
        elif name not in variables:
            findings.append(Finding(CHECK, where, f'[when."{condition}"]: no setting reads {name}'))
        elif policy["essential"].get(name) is None:
            findings.append(
                Finding(
                    CHECK,
                    where,
                    f'[when."{condition}"]: {name} must be [essential], so every container '
                    "says which case it is",
                )
            )
        else:
            reason = invalid_value(_isolated(settings_cls), variables[name], value)
            if reason:
                findings.append(Finding(CHECK, where, f'[when."{condition}"]: {reason}'))
    return findings


def check_containers(
    containers: list[Container],
    variables: dict[str, Variable],
    policy: dict[str, dict[str, str]],
    settings_cls: type[BaseSettings],
) -> list[Finding]:
    """Each container sets every essential variable, no unknown one, and only valid values."""
    findings = []
    isolated = _isolated(settings_cls)
    essential = [name for name in policy["essential"] if name in variables]
    required = [v.env for v in variables.values() if v.required]
    conditional = {n: cs for n, cs in conditions(policy).items() if n in variables}
    for c in containers:
        for name in dict.fromkeys(essential + required):
            if not c.env.get(name):
                findings.append(Finding(CHECK, c.label, f"{name} (essential) is not set"))
        for name, where_it_matters in sorted(conditional.items()):
            states = {cond: holds(cond, c, variables, settings_cls) for cond in where_it_matters}
            unknown = [cond for cond, state in states.items() if state is None]
            if unknown:
                setting = unknown[0].partition("=")[0]
                findings.append(
                    Finding(
                        CHECK,
                        c.label,
                        f"{setting} must be a literal value: whether {name} is needed depends "
                        "on it",
                    )
                )
                continue
            matching = [cond for cond, state in states.items() if state]
            if matching and not c.env.get(name):
                findings.append(
                    Finding(CHECK, c.label, f"{name} (essential where {matching[0]}) is not set")
                )
            elif not matching and name in c.env:
                findings.append(
                    Finding(
                        CHECK,
                        c.label,
                        f"sets {name}, which matters only where {' or '.join(where_it_matters)}",
                    )
                )
        for name, value in sorted(c.env.items()):
            if name in policy["ignored"]:
                findings.append(Finding(CHECK, c.label, f"sets {name}: {policy['ignored'][name]}"))
            elif name not in variables and name not in policy["library"]:
                findings.append(
                    Finding(CHECK, c.label, f"sets {name}, which the code does not read")
                )
            elif name in variables and value != SECRET and "${" not in value:
                reason = invalid_value(isolated, variables[name], value)
                if reason:
                    findings.append(Finding(CHECK, c.label, f"{name}={value!r}: {reason}"))
    return findings


def check_dockerfiles(
    dockerfiles: list[Path], variables: dict[str, Variable], policy: dict[str, dict[str, str]]
) -> list[Finding]:
    """The images' own ENV lines set only settings or known library variables."""
    findings = []
    for path in dockerfiles:
        for stage in parse_dockerfile(path):
            for name in stage.env:
                if name not in variables and name not in policy["library"]:
                    findings.append(
                        Finding(
                            CHECK,
                            f"{rel(path)} (stage {stage.name})",
                            f"sets {name}, which the code does not read",
                        )
                    )
    return findings


def check_env_coverage(
    containers: list[Container],
    settings_cls: type[BaseSettings] | None = None,
    policy_path: Path = POLICY,
    dockerfiles: tuple[Path, ...] = (ROOT / "Dockerfile", ROOT / "Dockerfile.worker"),
) -> list[Finding]:
    """The whole check: policy, containers and images."""
    if settings_cls is None:
        from app.config import Settings

        settings_cls = Settings
    variables = settings_variables(settings_cls)
    policy = load_policy(policy_path)
    findings = check_policy(variables, policy, settings_cls)
    findings += check_containers(containers, variables, policy, settings_cls)
    findings += check_dockerfiles(list(dockerfiles), variables, policy)
    return findings


__all__ = ["check_env_coverage", "image_env", "settings_variables"]
