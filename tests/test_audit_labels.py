"""Every action the code records in the audit log has a readable label (network_service/audit/labels.py).

Without one, coordinators read the machine name (``moderation.forward``) on /admin/audit, in its CSV export and
in the API's ``label``. The action names are collected from the source with ``ast``: each call of the audit
``record`` function in network_service/ and lti_bridge/. A constant first argument (or both branches of
``"a" if x else "b"``) is read directly; any other first argument must be listed in ``BUILT_NAMES`` below, with
the names it can produce, so that a new call nobody can read makes this test fail until it is listed."""

from __future__ import annotations

import ast
import csv
import io
import pathlib

import pytest

from network_service.accounts.models import Person
from network_service.audit.labels import ACTION_LABELS, action_label
from network_service.audit.operations import record
from network_service.db import session
from network_service.help.models import HelpStatus
from network_service.moderation.models import ReportStatus
from network_service.networks.models import Network
from tests.organise_helpers import bearer_as, client_as, roles  # noqa: F401 - fixtures

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = ("network_service", "lti_bridge")
AUDIT_MODULE = "network_service.audit.operations"

# Call sites whose action name is built at run time: "path:first argument as written" -> every name it can give.
# Keep each entry next to what it reads (the enum, the branches), and add one when you add such a call.
BUILT_NAMES: dict[str, set[str]] = {
    # archive_channel: action = "conversations.channel_archive" if archived else "conversations.channel_unarchive"
    "network_service/conversations/operations.py:action": {
        "conversations.channel_archive",
        "conversations.channel_unarchive",
    },
    # resolve_request: f"help.{status.value}" (open is refused before, listed anyway)
    "network_service/help/operations.py:f'help.{status.value}'": {
        f"help.{status.value}" for status in HelpStatus
    },
    # set_report_status: "moderation.report_" + status.value
    "network_service/moderation/operations.py:'moderation.report_' + status.value": {
        f"moderation.report_{status.value}" for status in ReportStatus
    },
}


def _record_callers(tree: ast.Module) -> tuple[set[str], set[str]]:
    """The names under which this module reaches the audit ``record``: as a function (``record``, or an alias)
    and as a module attribute (``operations.record``, ``audit.operations.record``...)."""
    functions: set[str] = set()
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                bound = alias.asname or alias.name
                if node.module == AUDIT_MODULE and alias.name == "record":
                    functions.add(bound)
                elif f"{node.module}.{alias.name}" == AUDIT_MODULE:
                    modules.add(bound)
                elif f"{node.module}.{alias.name}" == "network_service.audit":
                    modules.add(f"{bound}.operations")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == AUDIT_MODULE:
                    modules.add(alias.asname or AUDIT_MODULE)
    return functions, modules


def _is_record_call(call: ast.Call, functions: set[str], modules: set[str]) -> bool:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id in functions
    return isinstance(func, ast.Attribute) and func.attr == "record" and ast.unparse(func.value) in modules


def _constant_names(node: ast.expr) -> set[str] | None:
    """The names a first argument gives when it can be read without running anything, else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        body, orelse = _constant_names(node.body), _constant_names(node.orelse)
        if body is not None and orelse is not None:
            return body | orelse
    return None


def collect_actions() -> tuple[dict[str, list[str]], set[str]]:
    """Every recorded action name with where it is recorded, and the BUILT_NAMES entries that were met."""
    found: dict[str, list[str]] = {}
    met: set[str] = set()
    unreadable: list[str] = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=relative)
            functions, modules = _record_callers(tree)
            if not functions and not modules:
                continue
            for call in ast.walk(tree):
                if not isinstance(call, ast.Call) or not _is_record_call(call, functions, modules):
                    continue
                where = f"{relative}:{call.lineno}"
                argument = (
                    call.args[0]
                    if call.args
                    else next((keyword.value for keyword in call.keywords if keyword.arg == "action"), None)
                )
                if argument is None:
                    unreadable.append(f"{where}: no action")
                    continue
                names = _constant_names(argument)
                if names is None:
                    key = f"{relative}:{ast.unparse(argument)}"
                    if key not in BUILT_NAMES:
                        unreadable.append(f"{where}: {key!r}")
                        continue
                    if key in met:  # a second call under the same text: its names may differ, unseen
                        unreadable.append(f"{where}: {key!r} (a second call site; write its names out)")
                        continue
                    met.add(key)
                    names = BUILT_NAMES[key]
                for name in names:
                    found.setdefault(name, []).append(where)
    assert not unreadable, (
        "These audit record(...) calls build their action name at run time: list each in BUILT_NAMES "
        "(tests/test_audit_labels.py) with the names it can give:\n" + "\n".join(unreadable)
    )
    return found, met


def test_every_recorded_action_has_a_label():
    found, _met = collect_actions()
    missing = {name: where for name, where in found.items() if name not in ACTION_LABELS}
    assert not missing, "Give these audit actions a label in network_service/audit/labels.py:\n" + "\n".join(
        f"{name} (recorded at {', '.join(where)})" for name, where in sorted(missing.items())
    )


def test_the_collection_sees_the_call_sites():
    """The collector itself: it finds calls of every shape (plain, multi-line, both branches, built, in the LTI
    bridge), and every BUILT_NAMES entry still matches a call (a renamed variable would leave it stale)."""
    found, met = collect_actions()
    assert len(found) > 90
    for name in (
        "goal.update",  # a plain call
        "moderation.forward",  # a call over several lines
        "partner.decline",  # the else branch of a conditional
        "help.resolved",  # an f-string, from BUILT_NAMES
        "lti.coordinator_grant.remove",  # lti_bridge/
        "privacy.retention",  # keyword arguments only after the name
    ):
        assert name in found, name
    assert met == set(BUILT_NAMES), f"stale BUILT_NAMES entries: {set(BUILT_NAMES) - met}"


def test_a_new_unlabelled_call_is_caught(tmp_path, monkeypatch):
    """What the test is for: someone adds ``record("something.new", ...)`` and forgets the label."""
    package = tmp_path / "network_service"
    package.mkdir()
    (package / "new.py").write_text(
        "from network_service.audit.operations import record\n"
        "from network_service.audit import operations as audit\n\n"
        "def f(x):\n"
        '    record("something.new", actor=None)\n'
        '    audit.record("goal.create" if x else "something.other")\n'
        '    record("something." + x)\n',
        encoding="utf-8",
    )
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    monkeypatch.setattr(f"{__name__}.PACKAGES", ("network_service",))
    with pytest.raises(AssertionError, match=r"'something\.' \+ x"):
        collect_actions()
    monkeypatch.setitem(BUILT_NAMES, "network_service/new.py:'something.' + x", {"goal.edit"})
    found, _met = collect_actions()
    assert set(found) == {"something.new", "goal.create", "something.other", "goal.edit"}
    with pytest.raises(AssertionError, match=r"something\.new \(recorded at network_service/new\.py:5\)"):
        test_every_recorded_action_has_a_label()


def test_labels_are_words_not_machine_names():
    for action, label in ACTION_LABELS.items():
        text = str(label)
        assert text and text != action and "." not in text.rstrip("."), action


def test_the_page_csv_and_api_show_the_label(app, run, roles, client_as, bearer_as):  # noqa: F811
    """The three ways of reading the log show the new labels, not the machine name."""

    def add():
        network = session.get(Network, roles.network_id)
        coordinator = session.get(Person, roles.ids["coordinator"])
        record("moderation.forward", actor=coordinator, network=network, marker="forwarded")

    run(add)
    label = "Report passed on to the member's own network"
    assert action_label("moderation.forward") == label
    html = client_as("coordinator").get("/admin/audit?action=moderation.forward").get_data(as_text=True)
    assert (
        "Report passed on to the member&#39;s own network" in html
        and "<code>moderation.forward</code>" in html
    )
    response = client_as("coordinator").get("/admin/audit.csv?action=moderation.forward")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [row["label"] for row in rows] == [label]
    response = app.test_client().get(
        "/api/v1/audit?action=moderation.forward", headers=bearer_as("coordinator")
    )
    assert [entry["label"] for entry in response.json["entries"]] == [label]
