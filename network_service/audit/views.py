"""The audit log page for site administrators (and coordinators, for their own networks): filters, keyset
paging and a CSV export. docs/permissions.md, "Audit log"."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

from flask import Blueprint, Response, render_template, request
from flask_babel import gettext as _

from network_service.audit import operations
from network_service.audit.labels import action_label
from network_service.errors import InvalidInput
from network_service.networks import navigation
from network_service.networks.models import Role
from network_service.networks.permissions import has_role
from network_service.security import current_person, login_required
from network_service.web import cursor_arg

bp = Blueprint("audit", __name__)


def _date(name: str) -> dt.date | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(_("Enter a date as YYYY-MM-DD."), field=name) from None


def filters_from_args() -> operations.AuditFilter:
    return operations.AuditFilter(
        action=(request.args.get("action") or "").strip()[:80],
        actor=(request.args.get("actor") or "").strip()[:254],
        network=(request.args.get("network") or request.args.get("slug") or "").strip()[:80],
        since=_date("since"),
        until=_date("until"),
    )


# Coordinators reach their network's entries from the network's navigation (site administrators: the header).
navigation.register_section(
    navigation.Section(
        key="audit",
        endpoint="audit.index",  # /admin/audit?slug=...: the network filter
        label=lambda: _("Audit log"),
        order=98,
        visible=lambda viewer, network: has_role(viewer, network, {Role.coordinator}, site_admin=False),
    )
)


@bp.get("/admin/audit")
@login_required
def index():
    viewer = current_person()
    operations.audit_scope(viewer)  # 403 before anything is parsed
    errors: dict[str, str] = {}
    try:
        filters = filters_from_args()
        before = cursor_arg("before")
        page = operations.search(viewer, filters, before=before)
    except InvalidInput as exc:
        errors[exc.field or "form"] = exc.detail
        filters = operations.AuditFilter()
        page = operations.search(viewer, filters)
    args = {key: value for key, value in request.args.items() if key not in ("before", "slug") and value}
    if filters.network:
        args["network"] = filters.network
    return render_template(
        "audit/index.html",
        page=page,
        filters=filters,
        args=args,
        errors=errors,
        actions=operations.known_actions(viewer),
        action_label=action_label,
        people=operations.people_by_id(page.entries),
        network_names=operations.networks_by_id(page.entries),
        first_page=request.args.get("before") is None,
    ), (422 if errors else 200)


@bp.get("/admin/audit.csv")
@login_required
def export_csv():
    viewer = current_person()
    everything = operations.audit_scope(viewer) is None  # only site administrators see e-mail addresses
    filters = filters_from_args()
    entries = operations.export_rows(viewer, filters)
    people = operations.people_by_id(entries)
    networks = operations.networks_by_id(entries)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "id",
            "at",
            "action",
            "label",
            "actor_id",
            "actor_name",
            "actor_email",
            "network",
            "target_type",
            "target_id",
            "detail",
        ]
    )
    for entry in entries:
        actor = people.get(entry.actor_id)
        network = networks.get(entry.network_id)
        writer.writerow(
            [
                entry.id,
                entry.at.isoformat(),
                entry.action,
                action_label(entry.action),
                entry.actor_id or "",
                _csv_safe(actor.display_name if actor else ""),
                _csv_safe(actor.email if actor and everything else ""),
                network.slug if network else "",
                entry.target_type,
                entry.target_id or "",
                _csv_safe(json.dumps(entry.detail or {}, ensure_ascii=False, sort_keys=True, default=str)),
            ]
        )
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={
            "Content-Disposition": "attachment; filename=mentornet-audit.csv",
            "Cache-Control": "no-store",
        },
    )


def _csv_safe(value: str | None) -> str:
    """Spreadsheets run a cell that starts with = + - @ as a formula: prefix it so it stays text."""
    value = value or ""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
