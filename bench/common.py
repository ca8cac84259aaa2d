"""What every bench report starts with (time, commit, machine) and where it is written."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results"


def git(*args: str) -> str | None:
    try:
        out = subprocess.run(  # noqa: S603 - fixed git command
            ["git", *args],  # noqa: S607 - git from PATH
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def new_report(arguments: dict) -> dict:
    return {
        "started_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": git("rev-parse", "--short", "HEAD"),
        "dirty": bool(git("status", "--porcelain")),
        "machine": {
            "cpus": os.cpu_count(),
            "loadavg_before": loadavg(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "arguments": arguments,
    }


def header_lines(report: dict, title: str = "mentorNET bench") -> list[str]:
    machine = report["machine"]
    return [
        f"{title}  {report['started_at']}  commit {report.get('commit') or '?'}"
        f"{' (dirty)' if report.get('dirty') else ''}",
        f"machine: {machine['cpus']} CPUs, load average {machine['loadavg_before']} before, "
        f"{machine.get('loadavg_after', '?')} after; run took {report.get('duration_s', '?')} s",
    ]


def save(report: dict, suffix: str = "") -> Path:
    """``bench/results/<UTC timestamp><suffix>.json`` and ``bench/results/latest<suffix>.json``."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report, indent=2) + "\n"
    path = RESULTS / f"{report['started_at'].replace(':', '').replace('-', '')}{suffix}.json"
    path.write_text(text)
    (RESULTS / f"latest{suffix}.json").write_text(text)
    return path
