"""The web app is served by the API from files in the package, under a strict policy, and
fetches nothing from anywhere else."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

from fastapi.testclient import TestClient

from app.config import Settings
from app.web.router import STATIC_DIR, content_security_policy
from tests.conftest import ROOT, TMP


def test_the_page_is_served_at_the_root_with_a_strict_policy(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/static/js/main.js">' in page.text
    policy = dict(
        part.strip().split(" ", 1) for part in page.headers["content-security-policy"].split(";")
    )
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert policy["connect-src"] == "'self'"  # local storage: nothing but this origin
    assert policy["media-src"] == "'self'" and policy["img-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe" not in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"

    script = client.get("/static/js/main.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert client.get("/static/app.css").headers["content-type"].startswith("text/css")
    assert client.get("/static/icon.svg").headers["content-type"].startswith("image/svg+xml")
    assert client.get("/static/nothing.js").status_code == 404
    # The JSON API is where it was.
    assert client.get("/api/v1/jobs").status_code == 401


def test_object_storage_origins_are_allowed_for_uploads_and_playback() -> None:
    s3 = content_security_policy(
        Settings(storage_backend="s3", storage_bucket="b", s3_endpoint_url="http://minio:9000")
    )
    assert "connect-src 'self' http://minio:9000 http://*.minio:9000" in s3
    assert "media-src 'self' http://minio:9000 http://*.minio:9000" in s3
    aws = content_security_policy(Settings(storage_backend="s3", storage_bucket="b"))
    assert "https://*.amazonaws.com" in aws
    gcs = content_security_policy(Settings(storage_backend="gcs", storage_bucket="b"))
    assert "https://storage.googleapis.com" in gcs


def test_the_page_loads_nothing_from_elsewhere() -> None:
    files = [p for p in STATIC_DIR.rglob("*") if p.is_file()]
    assert {p.suffix for p in files} <= {".html", ".js", ".css", ".svg"}
    for path in files:
        text = path.read_text()
        # No remote scripts, styles, fonts or images, and no inline code the policy would block.
        assert not re.search(r"""(src|href)=["'](https?:)?//""", text), path
        assert not re.search(r"url\(\s*['\"]?(https?:)?//", text), path
        assert not re.search(r"""@import\s+["'](https?:)?//""", text), path
        if path.suffix == ".js":
            for spec in re.findall(r"""^import .* from ["']([^"']+)["'];$""", text, re.M):
                assert spec.startswith("./"), (path, spec)
            assert "innerHTML" not in text and "eval(" not in text, path
        if path.suffix == ".html":
            assert not re.search(r"<script(?![^>]*\bsrc=)", text), "inline script"
            assert "style=" not in text and "<style" not in text, "inline style"


def test_the_package_build_carries_the_page() -> None:
    """What setuptools puts in a wheel or an installed package includes every page file."""
    src, out = TMP / "package-src", TMP / "package-build"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("app", "workers"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    subprocess.run(
        [sys.executable, "-c", "import setuptools; setuptools.setup()", "-q", "build_py"]
        + ["--build-lib", str(out)],
        cwd=src,
        check=True,
        capture_output=True,
    )
    for path in STATIC_DIR.rglob("*"):
        if path.is_file():
            assert (out / "app" / "web" / path.relative_to(STATIC_DIR.parent)).is_file(), path
