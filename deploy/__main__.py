"""`python -m deploy [--checkov PATH]`: run every deployment check and fail on any finding."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

from deploy import ROOT, Finding

Result = tuple[list[Finding], str]


def _hadolint() -> Result:
    from deploy.linters import DOCKERFILES, check_hadolint

    return check_hadolint(), f"{', '.join(DOCKERFILES)}"


def _shellcheck() -> Result:
    from deploy.linters import check_shellcheck, shell_scripts

    return check_shellcheck(), f"{len(shell_scripts())} scripts"


def _non_root() -> Result:
    from deploy.images import check_dockerfile, check_runtime_non_root
    from deploy.workloads import all_containers

    findings = check_dockerfile(ROOT / "Dockerfile") + check_dockerfile(ROOT / "Dockerfile.worker")
    containers, _ = all_containers()
    findings += check_runtime_non_root(containers)
    return findings, f"image targets and {len(containers)} deployed containers run as uid 10001"


def _no_torch() -> Result:
    from deploy.images import (
        ML_ROLES,
        api_image_closure_size,
        check_api_image_has_no_ml_stack,
        check_ml_roles_run_the_worker_image,
    )
    from deploy.workloads import all_containers

    findings = check_api_image_has_no_ml_stack()
    containers, _ = all_containers()
    findings += check_ml_roles_run_the_worker_image(containers)
    ml = sum(1 for c in containers if c.role in ML_ROLES)
    return findings, (
        f"API image installs {api_image_closure_size()} distributions, no ML stack; "
        f"{ml} worker containers run the worker image"
    )


def _compose() -> Result:
    from deploy.manifests import check_compose, default_compose_files

    files = default_compose_files()
    findings, notes = check_compose(files)
    for note in notes:
        print(f"      note: {note}")
    return findings, f"{', '.join(p.name for p in files)} against the Compose Specification"


def _kubernetes() -> Result:
    from deploy.manifests import KUBERNETES_VERSION, check_kubernetes

    findings, count, notes = check_kubernetes(ROOT / "gcp" / "k8s")
    for note in notes:
        print(f"      note: {note}")
    return findings, f"{count} objects in gcp/k8s (Kubernetes {KUBERNETES_VERSION}, strict; KEDA)"


def _terraform() -> Result:
    from deploy.terraform import check_hcl

    findings, count = check_hcl([ROOT / "aws" / "terraform", ROOT / "gcp" / "terraform"])
    return findings, f"{count} .tf files parse"


def _ecs() -> Result:
    from deploy.ecs import check_ecs

    findings, count = check_ecs()
    return findings, f"{count} task definitions accepted by botocore's RegisterTaskDefinition model"


def _env() -> Result:
    from app.config import Settings
    from deploy.envcoverage import check_env_coverage, settings_variables
    from deploy.workloads import all_containers

    containers, findings = all_containers()
    findings += check_env_coverage(containers)
    count = len(settings_variables(Settings))
    return findings, f"{count} settings against {len(containers)} containers"


def _checkov(checkov: str) -> Callable[[], Result]:
    def run() -> Result:
        from deploy.terraform import check_checkov

        findings, totals = check_checkov(checkov)
        return findings, (
            f"{totals['passed']} passed, {totals['failed']} failed, "
            f"{totals['skipped']} skipped with a reason"
        )

    return run


def main(argv: list[str] | None = None) -> int:
    """Run the checks; exit 1 when any finds something."""
    parser = argparse.ArgumentParser(prog="python -m deploy", description=__doc__)
    parser.add_argument("--checkov", help="checkov executable (it lives in its own virtualenv)")
    args = parser.parse_args(argv)
    checks: list[tuple[str, Callable[[], Result]]] = [
        ("hadolint", _hadolint),
        ("shellcheck", _shellcheck),
        ("non-root", _non_root),
        ("no-torch", _no_torch),
        ("compose", _compose),
        ("kubernetes", _kubernetes),
        ("terraform", _terraform),
        ("ecs", _ecs),
        ("env-coverage", _env),
    ]
    if args.checkov:
        checks.append(("checkov", _checkov(args.checkov)))
    failed = 0
    for name, check in checks:
        started = time.monotonic()
        try:
            findings, summary = check()
        except Exception as exc:  # a broken check must fail loudly, not pass
            findings, summary = [Finding(name, "check", f"{type(exc).__name__}: {exc}")], "error"
        spent = time.monotonic() - started
        status = "ok  " if not findings else "FAIL"
        print(f"{status}  {name:<13} {summary} ({spent:.1f} s)", flush=True)
        for finding in findings:
            print(f"      {finding}")
        failed += bool(findings)
    if not args.checkov:
        print("FAIL  checkov       not run: pass --checkov PATH (make deploy-check does)")
        failed += 1
    print(f"deploy-check: {len(checks)} checks, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
