"""Library routes beyond tests/route_access/core.py's: the step that asks before a resource is deleted."""

from tests.route_access import LEADERS_AND_OFFICE

ACCESS = {
    # GET /networks/<slug>/resources/<id>/delete: what will be deleted, and the button that posts to
    # resources.delete; the same people as resources.delete (curators, and the author: not in the demo's roles)
    "resources.confirm_delete": LEADERS_AND_OFFICE,
}
