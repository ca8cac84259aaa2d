from __future__ import annotations

from typing import Any

from network_service.audit.models import AuditLog
from network_service.db import session


def record(action: str, *, actor=None, target=None, network=None, **detail: Any) -> AuditLog:
    """Write an audit entry in the caller's transaction: it lands exactly when the action lands."""
    entry = AuditLog(
        action=action,
        actor_id=getattr(actor, "id", None),
        target_type=type(target).__name__.lower() if target is not None else "",
        target_id=getattr(target, "id", None),
        network_id=getattr(network, "id", None),
        detail=detail,
    )
    session.add(entry)
    return entry
