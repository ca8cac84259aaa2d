"""Routes of the federations module: networks of networks (see __init__.py). In the demo, the Berlin network is
a member of a federation; the link is already accepted, so accepting it again is a 409 (or 404 on the page)."""

from __future__ import annotations

from tests.route_access import COORDINATOR, LEADERS, MEMBERS_AND_ADMIN, access

ACCESS = {
    "federations.index": MEMBERS_AND_ADMIN,
    "federations.federated_dashboard": LEADERS,
    "federations.export": LEADERS,
    "federations.invite": COORDINATOR,
    "federations.join": COORDINATOR,
    "federations.accept": access(*COORDINATOR, own=True),
    "federations.end": access(*COORDINATOR, own=True),
    "federations.share_channel": COORDINATOR,
    "federations.share_resource": COORDINATOR,
    "federations.unshare_channel": COORDINATOR,
    "federations.unshare_resource": COORDINATOR,
    ("api_federations.Link", "GET"): MEMBERS_AND_ADMIN,
    ("api_federations.Link", "DELETE"): COORDINATOR,
    "api_federations.Accept": COORDINATOR,
    "api_federations.Overview": MEMBERS_AND_ADMIN,
    "api_federations.Dashboard": LEADERS,
    "api_federations.Members": COORDINATOR,
    "api_federations.Memberships": COORDINATOR,
    "api_federations.SharedChannels": COORDINATOR,
    "api_federations.SharedChannel": COORDINATOR,
    "api_federations.SharedResources": COORDINATOR,
    "api_federations.SharedResource": COORDINATOR,
}
