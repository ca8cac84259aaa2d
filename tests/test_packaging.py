"""The built wheel carries everything the service needs at run time, not only the Python modules."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_FILES = ("templates", "static", "translations", "migrations")


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory) -> set[str]:
    out = tmp_path_factory.mktemp("wheel")
    # Build from a clean copy: setuptools reuses ./build, which would hide a file package_data forgot.
    source = tmp_path_factory.mktemp("source") / "mentornet"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__", "instance"),
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    [wheel] = out.glob("mentornet-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_wheel_holds_every_template_catalog_static_file_and_migration(wheel_names):
    expected = {
        path.relative_to(ROOT).as_posix()
        for package in (ROOT / "network_service", ROOT / "lti_bridge", ROOT / "mentornet_xblock")
        for folder in RUNTIME_FILES
        for path in (package / folder).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }
    missing = sorted(expected - wheel_names)
    assert not missing, f"setup.py package_data misses: {missing}"


def test_wheel_ships_the_three_packages_and_the_entry_points(wheel_names):
    for package in ("network_service", "lti_bridge", "mentornet_xblock"):
        assert f"{package}/__init__.py" in wheel_names
    assert {
        "mentornet_xblock/static/js/mentornet.js",
        "mentornet_xblock/static/css/mentornet.css",
        "mentornet_xblock/public/lti-autosubmit.js",
    } <= wheel_names
    [entry_points] = [name for name in wheel_names if name.endswith(".dist-info/entry_points.txt")]
    assert entry_points
