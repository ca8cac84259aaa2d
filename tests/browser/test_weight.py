"""Every page of the journeys, loaded cold: at most 100 KB compressed with its CSS and JavaScript, and not a
single request to another host. The sizes are printed at the end of the run and written to
bench/results/browser-weight.json."""

from __future__ import annotations

import pytest

from tests.browser import support
from tests.browser.journeys import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.live]


def _assert_counted(weight: dict) -> None:
    """The meter saw the document and its stylesheet, each with its body: a meter that measured nothing
    would pass any budget."""
    types = {row.get("type"): row for row in weight["responses"]}
    assert types["document"]["raw"] > 1000, weight
    assert types["stylesheet"]["raw"] > 1000, weight
    assert weight["compressed_bytes"] < weight["raw_bytes"], weight


def test_every_page_of_the_journeys_loads_within_budget_from_this_host_only(
    new_tour, invite_graduate, outbox, coordinator, width
):
    tour = new_tour()
    page = tour.page

    page.goto("/")
    _assert_counted(tour.check("landing"))
    page.goto("/sign-in")
    _assert_counted(tour.check("sign-in"))
    page.goto(invite_graduate(f"weighed-{width}@example.org"))
    _assert_counted(tour.check("invitation"))

    sign_in(tour, outbox, coordinator)
    for name, path in [
        ("home", "/"),
        ("profile", "/profile"),
        ("network", "/networks/test-net"),
        ("invite", "/networks/test-net/invite"),
        ("courses", "/networks/test-net/courses"),
    ]:
        page.goto(path)
        weight = tour.check(name)
        _assert_counted(weight)
        assert weight["compressed_bytes"] <= support.BUDGET_BYTES  # also asserted inside check(), said here
    assert not tour.guard.foreign
