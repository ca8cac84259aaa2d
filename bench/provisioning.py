"""provision_graduate in-process: new completion events against the same events delivered again."""

from __future__ import annotations

import time
from pathlib import Path

from http_load import percentile


def run(directory: Path, events: int, block: int = 50) -> dict:
    """Provision ``events`` distinct graduates on a fresh demo database (SQLite file), then replay each event id.

    Each event runs in its own application context and commits, as the request that delivers it would (the
    outbox worker is off: sending the invitation mail is not part of provisioning). New and duplicate events
    alternate in blocks of ``block`` (new ids 0..49, the same ids again, new ids 50..99, ...) so that a
    neighbour's burst of load on this shared machine falls on both paths alike.
    """
    from network_service.app import create_app
    from network_service.courses.models import CompletionStatus
    from network_service.courses.operations import provision_graduate
    from network_service.db import db, session
    from network_service.demo import DEMO_COURSE, build_demo, demo_config

    config = demo_config("127.0.0.1", 5000, directory=directory)
    build_demo(config)
    app = create_app({**config, "OUTBOX_WORKER": False})

    def deliver(index: int):
        with app.app_context():
            result = provision_graduate(
                DEMO_COURSE,
                {"email": f"bench-graduate-{index}@example.org", "name": f"Bench Graduate {index}"},
                event_id=f"bench-completion-{index}",
                source="bench",
            )
            session.commit()
            return result.duplicate, result.status

    timings: dict[str, list[float]] = {"new": [], "duplicate": []}
    unexpected: list[str] = []
    try:
        deliver(-1)  # warm-up: first queries, template compilation; not measured
        for first in range(0, events, block):
            indices = range(first, min(first + block, events))
            for path, want in (("new", (False, CompletionStatus.invited)), ("duplicate", (True, None))):
                for index in indices:
                    start = time.perf_counter()
                    duplicate, status = deliver(index)
                    timings[path].append(time.perf_counter() - start)
                    if duplicate != want[0] or (want[1] is not None and status != want[1]):
                        unexpected.append(
                            f"{path} event {index}: duplicate={duplicate} status={status.value}"
                        )
    finally:
        db.dispose(app)

    result: dict = {
        "events": events,
        "block": block,
        "database": "sqlite (file)",
        "unexpected": unexpected[:20],
    }
    for path, values in timings.items():
        total = sum(values)
        ordered = sorted(values)
        result[path] = {
            "events": len(values),
            "seconds": round(total, 3),
            "events_per_s": round(len(values) / total, 1) if total else 0.0,
            "latency_ms": {
                "p50": round(1000 * percentile(ordered, 50), 3),
                "p95": round(1000 * percentile(ordered, 95), 3),
                "p99": round(1000 * percentile(ordered, 99), 3),
            },
        }
    new_rate = result["new"]["events_per_s"]
    result["duplicate_to_new_ratio"] = (
        round(result["duplicate"]["events_per_s"] / new_rate, 2) if new_rate else None
    )
    result["unexpected_count"] = len(unexpected)
    return result
