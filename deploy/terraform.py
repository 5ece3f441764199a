"""Terraform parsed with python-hcl2, and every deployment file scanned with checkov.

checkov runs offline (--skip-download) on the Terraform of aws/ and gcp/, the Kubernetes
manifests and both Dockerfiles. A failed check fails this check. A check may be skipped only
where the repository says why, next to what it skips (`#checkov:skip=ID:reason` in Terraform,
`checkov.io/skipN: ID=reason` annotations in Kubernetes); a skip without a reason fails too.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deploy import ROOT, Finding, rel

NO_REASON = "No comment provided"


def check_hcl(folders: list[Path]) -> tuple[list[Finding], int]:
    """Every .tf file parses; returns findings and the number of files."""
    import hcl2

    findings = []
    count = 0
    for folder in folders:
        for path in sorted(folder.glob("*.tf")):
            count += 1
            try:
                with path.open() as handle:
                    hcl2.load(handle)
            except Exception as exc:
                findings.append(Finding("terraform", rel(path), f"does not parse: {exc}"))
    return findings, count


@dataclass(frozen=True)
class Scan:
    """One checkov run."""

    framework: str
    args: tuple[str, ...]


SCANS = (
    Scan("terraform", ("-d", "aws/terraform")),
    Scan("terraform", ("-d", "gcp/terraform")),
    Scan("kubernetes", ("-d", "gcp/k8s")),
    Scan("dockerfile", ("-f", "Dockerfile", "-f", "Dockerfile.worker")),
)


def run_checkov(checkov: str, scan: Scan, root: Path = ROOT) -> list[dict[str, Any]]:
    """checkov's JSON reports for one scan."""
    result = subprocess.run(
        [checkov, *scan.args, "--framework", scan.framework, "-o", "json", "--skip-download"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode not in (0, 1) or not result.stdout.strip():
        raise RuntimeError(f"checkov {' '.join(scan.args)} failed: {result.stderr[-2000:]}")
    data = json.loads(result.stdout)
    reports = data if isinstance(data, list) else [data]
    return [r for r in reports if isinstance(r, dict) and "results" in r]


def findings_of(reports: list[dict[str, Any]], label: str) -> tuple[list[Finding], dict[str, int]]:
    """Failed checks, reasonless skips and parsing errors of checkov reports, and counts."""
    findings = []
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    for report in reports:
        results = report["results"]
        counts["passed"] += len(results.get("passed_checks", []))
        for item in results.get("failed_checks", []):
            counts["failed"] += 1
            findings.append(
                Finding(
                    "checkov",
                    f"{label}{item.get('file_path', '')} {item.get('resource', '')}",
                    f"{item['check_id']} failed: {item.get('check_name', '')}",
                )
            )
        for item in results.get("skipped_checks", []):
            counts["skipped"] += 1
            reason = (item.get("check_result") or {}).get("suppress_comment") or ""
            if not reason.strip() or reason.strip() == NO_REASON:
                findings.append(
                    Finding(
                        "checkov",
                        f"{label}{item.get('file_path', '')} {item.get('resource', '')}",
                        f"{item['check_id']} is skipped without a reason",
                    )
                )
        for path in results.get("parsing_errors", []):
            findings.append(Finding("checkov", f"{label}{path}", "checkov could not parse it"))
    return findings, counts


def check_checkov(checkov: str, root: Path = ROOT) -> tuple[list[Finding], dict[str, int]]:
    """All scans; returns findings and total counts."""
    findings: list[Finding] = []
    totals = {"passed": 0, "failed": 0, "skipped": 0}
    for scan in SCANS:
        label = scan.args[1].rstrip("/") if scan.args[0] == "-d" else ""
        found, counts = findings_of(run_checkov(checkov, scan, root), label)
        findings += found
        for key, value in counts.items():
            totals[key] += value
    return findings, totals
