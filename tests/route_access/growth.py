"""Routes of the growth module: applying, partners, starting a network, the promotion kit (see __init__.py)."""

from __future__ import annotations

from tests.route_access import ANYONE, COORDINATOR, LEADERS_AND_OFFICE, SIGNED_IN, SITE_ADMIN, access

APPLICATIONS = frozenset(
    {"office", "coordinator", "site_admin"}
)  # growth.permissions: who answers applications

ACCESS = {
    "growth.admin": SITE_ADMIN,
    "growth.decide_course_request": SITE_ADMIN,
    "growth.decide_start": SITE_ADMIN,
    "growth.flyer": ANYONE,
    "growth.qr_png": ANYONE,
    "growth.qr_svg": ANYONE,
    "growth.widget": ANYONE,
    "growth.apply": SIGNED_IN,
    "growth.withdraw": access(*SIGNED_IN, own=True),  # 404 without an application of one's own
    "growth.request_partner": SIGNED_IN,
    "growth.start": SIGNED_IN,
    "growth.start_step": SIGNED_IN,
    "growth.applications": APPLICATIONS,
    "growth.decide_application": APPLICATIONS,
    "growth.course_requests": COORDINATOR,
    "growth.partners": COORDINATOR,
    "growth.decide_partner": COORDINATOR,
    "growth.promote": LEADERS_AND_OFFICE,
    ("api_growth.Applications", "GET"): APPLICATIONS,
    ("api_growth.Applications", "POST"): SIGNED_IN,
    "api_growth.ApplicationDecision": APPLICATIONS,
    ("api_growth.Partners", "GET"): SIGNED_IN,  # a network's partners are public (its public page lists them)
    ("api_growth.Partners", "POST"): SIGNED_IN,
    "api_growth.PartnerDecision": COORDINATOR,
}
