"""Who may use each route of the application: the expectation table of tests/test_route_walk.py.

Every (endpoint, method) of ``app.url_map`` must be declared here, or the walk fails and names the route. A
module adds its routes in its own file in this package (``tests/route_access/<module>.py`` with a dict named
``ACCESS``): every file here is read, and an endpoint declared twice is an error.

Keys are an endpoint (every method of it) or ``(endpoint, METHOD)``. Values are an ``Access``, or a set of the
labels of tests/security_world.py's PEOPLE who may use the route in the demo network (shorthands below):

    anonymous, novice, experienced, office, meta_mentor, coordinator, outsider (a member and coordinator of
    another network only), site_admin, suspended (a mentor of the network, suspended), invited (invited into
    the network, not joined yet)

What the walk checks for each role (docs/permissions.md, "How the matrix is tested"):

* never a 5xx;
* a role that may: no 401/403 and no redirect to sign-in (and no 404 unless ``own=True``, or the walker found no
  object to put in the URL);
* a role that may not, reading (GET): 401, 403, 404 or 410, or a redirect to sign-in;
* a role that may not, writing: a 4xx (the walker sends an empty form or ``{}``: input may be judged before
  the person), or a redirect to sign-in; never a 2xx or another redirect;
* ``CREDENTIAL``: the request carries its own credential (a signature, a token in the path or body): every role
  gets the same answer, and it is no success.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil


@dataclasses.dataclass(frozen=True)
class Access:
    who: frozenset[str] = frozenset()
    own: bool = False  # the object in the URL belongs to one person: others who may use the route get 404
    credential: bool = False  # see CREDENTIAL
    query: str = ""  # a query string the route needs to do anything (e.g. "q=help")


def access(*labels: str, own: bool = False, query: str = "") -> Access:
    return Access(frozenset(labels), own=own, query=query)


MEMBERS = frozenset({"novice", "experienced", "office", "meta_mentor", "coordinator"})
ANYONE = frozenset({"anonymous", "outsider", "site_admin", "suspended", "invited"}) | MEMBERS
SIGNED_IN = ANYONE - {"anonymous"}
MEMBERS_AND_ADMIN = MEMBERS | {"site_admin"}
SITE_ADMIN = frozenset({"site_admin"})
COORDINATOR = frozenset({"coordinator", "site_admin"})  # and site administrators
LEADERS = frozenset({"meta_mentor", "coordinator", "site_admin"})
LEADERS_AND_OFFICE = LEADERS | {"office"}
MODERATORS = frozenset({"meta_mentor", "coordinator"})  # site administrators are not moderators of a network
CREDENTIAL = Access(credential=True)


def load() -> dict[tuple[str, str | None], Access]:
    """Every module's table, keyed (endpoint, method or None for all methods)."""
    table: dict[tuple[str, str | None], Access] = {}
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        for key, value in getattr(module, "ACCESS", {}).items():
            endpoint, method = key if isinstance(key, tuple) else (key, None)
            rule = value if isinstance(value, Access) else Access(frozenset(value))
            if (endpoint, method) in table:
                raise AssertionError(
                    f"tests/route_access/{module_info.name}.py declares {endpoint} {method or ''} again"
                )
            unknown = rule.who - ANYONE
            if unknown:
                raise AssertionError(f"{endpoint}: unknown labels {sorted(unknown)}")
            table[(endpoint, method)] = rule
    return table


def lookup(table, endpoint: str, method: str) -> Access | None:
    return table.get((endpoint, method)) or table.get((endpoint, None))
