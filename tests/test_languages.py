"""Languages are compared by one key: "Arabisch", "arabo", "Arabic", "العربية" and "ar" are one language."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from network_service.accounts.models import Person
from network_service.db import session
from network_service.help import matching
from network_service.help import operations as ops
from network_service.help.models import HelpRequestLanguage
from network_service.languages import UI_LOCALES, language_code, language_key
from network_service.networks.models import Network
from tests.helpers import sign_in_as
from tests.test_help_matching import ask, member

# Arabic, German and Greek as each interface language names them (CLDR), with odd case and spaces
NAMES = {
    "ar": ["Arabic", "Arabisch", "arabo", "arabski", "  АРАБСЬКА ", "Αραβικά", "العربية", "ar", "AR"],
    "de": ["German", "Deutsch", "tedesco", "niemiecki", "німецька", "Γερμανικά", "الألمانية", "de"],
    "el": ["Greek", "Griechisch", "greco", "grecki", "грецька", "Ελληνικά", "اليونانية", "el"],
    "fa": ["Persian", "Persisch", "persiano", "perski", "перська", "Περσικά", "الفارسية", "Farsi", "fa"],
}


@pytest.fixture
def net(world, ctx):
    return session.get(Network, world.network_id)


@pytest.mark.parametrize("code", sorted(NAMES))
def test_names_in_every_interface_language_and_the_code_have_one_key(code):
    assert {language_key(name) for name in NAMES[code]} == {code}


def test_accents_and_spaces_do_not_matter_but_unknown_names_keep_their_text():
    assert language_key("Ελληνικα") == "el"  # without the tonos
    assert language_key("Ukrainian\u00a0Sign   Language") == language_key("ukrainian sign language") != "uk"
    # names CLDR does not know (dialects, other spellings) are compared as before: case and spaces folded
    assert language_key("  Syrian   ARABIC ") == "syrian arabic"
    assert language_key("Kurmanji") == "kurmanji"
    assert language_key("Dari") == "dari"  # not folded into Persian: a name of its own
    # a code wins over a name that happens to read the same ("ga" is Irish, not Ga)
    assert language_key("ga") == "ga" and language_key("Irish") == "ga"


def test_the_directory_takes_names_in_every_interface_language_as_codes():
    assert [language_code(name) for name in ("Arabisch", "arabo", "العربية", "AR", "Irish")] == [
        "ar", "ar", "ar", "ar", "ga",
    ]  # fmt: skip
    assert language_code("Kurmanji") is None and language_code("") is None


def test_every_shipped_interface_language_names_languages():
    shipped = {p.name for p in (Path(ops.__file__).parents[1] / "translations").iterdir() if p.is_dir()}
    assert shipped | {"en"} <= set(UI_LOCALES)


def test_a_request_in_arabisch_ranks_a_member_who_speaks_arabic_with_the_language_reason(
    net, world, app, monkeypatch
):
    monkeypatch.setitem(app.config, "HELP_NOTIFY_COUNT", 0)
    speaker = member(net, 1, languages=["Arabic", "arabo"])
    other = member(net, 2, languages=["Deutsch"])
    author = session.get(Person, world.coordinator_id)
    request = ask(net, author, languages=["Arabisch"])
    ranked = matching.rank(request)
    assert [s.person_id for s in ranked].index(speaker.id) < [s.person_id for s in ranked].index(other.id)
    [best] = [s for s in ranked if s.person_id == speaker.id]
    [language] = [r for r in best.reasons if r["code"] == "language"]
    # one language however often it is written; shown as the member wrote it
    assert language == {"code": "language", "value": ["Arabic"], "points": matching.LANGUAGE}
    with app.test_request_context():
        assert ops.describe_reason(language) == "speaks Arabic"
    assert [k.language for k in request.language_keys] == ["ar"]
    assert request.languages == ["Arabisch"]  # what the author wrote is kept


def test_in_my_languages_list_and_badge_meet_across_spellings(client, run, world):
    def seed():
        network = session.get(Network, world.network_id)
        reader = member(network, 1, languages=["العربية"])
        author = member(network, 2, languages=["English"])
        ask(network, author, topic="Written in English as Arabic", languages=["Arabic"])
        ask(network, author, topic="Written as Polish", languages=["Polish"])
        ask(network, author, topic="Written as a dialect", languages=["Syrian Arabic"])
        return reader.email

    email = run(seed)
    sign_in_as(client, run, email)
    html = client.get("/networks/test-net/help").get_data(as_text=True)
    assert "Written in English as Arabic" in html
    assert "Written as Polish" not in html and "Written as a dialect" not in html
    assert '<span class="badge badge-count">1<' in html


def test_the_keys_are_what_the_list_filters_on(net, world):
    author = session.get(Person, world.coordinator_id)
    member(net, 1)
    ask(net, author, languages=["Arabic", "arabo", "Kurmanji"])
    keys = session.scalars(sa.select(HelpRequestLanguage.language).order_by(HelpRequestLanguage.language))
    assert list(keys) == ["ar", "kurmanji"]
    reader = member(net, 3, languages=["Arabisch", "kurmanji "])
    assert ops.language_keys(reader) == ["ar", "kurmanji"]


def test_the_shipped_language_names_are_what_the_installed_babel_gives():
    """network_service/language_names.py is generated (tools/make_language_names.py) so that web workers need
    not load the CLDR data of seven locales; it must stay what Babel gives."""
    from network_service import language_names
    from network_service.languages import build_tables

    codes, names = build_tables()
    assert codes == language_names.CODES, "run: .venv/bin/python tools/make_language_names.py"
    assert names == language_names.NAMES, "run: .venv/bin/python tools/make_language_names.py"


def test_the_help_form_offers_one_checkbox_per_language_and_checks_the_members_own(client, run, world):
    """The network writes "Arabic", a German member "Arabisch, Deutsch": one Arabic checkbox, checked."""

    def seed():
        network = session.get(Network, world.network_id)
        network.languages = ["Arabic", "English"]
        writer = member(network, 1, languages=["Arabisch", "Deutsch"])
        author = member(network, 2, languages=["English"])
        request = ask(network, author, topic="An old request", languages=["English"])
        request_id = request.id
        request.author_id = writer.id
        request.languages = ["Arabisch"]
        return writer.email, request_id

    email, request_id = run(seed)
    sign_in_as(client, run, email)

    def boxes(html: str) -> dict[str, bool]:
        found = {}
        for tag in re.findall(r'<input[^>]*name="languages"[^>]*>', html):
            value = re.search(r'value="([^"]*)"', tag).group(1)
            found[value] = "checked" in tag
        return found

    new = client.get("/networks/test-net/help/new").get_data(as_text=True)
    assert boxes(new) == {"Arabic": True, "English": False, "Deutsch": True}
    # each box is labelled in the page's language (English here), its value stays as written
    labels = dict(re.findall(r'<input[^>]*value="([^"]*)"[^>]*>\s*<label[^>]*>([^<]*)</label>', new))
    assert labels == {"Arabic": "Arabic", "English": "English", "Deutsch": "German"}
    edit = client.get(f"/networks/test-net/help/{request_id}/edit").get_data(as_text=True)
    assert boxes(edit) == {"Arabisch": True, "English": False, "Deutsch": False}  # as its author wrote it


def test_the_members_filter_finds_a_language_however_it_was_written(client, run, world):
    """The coordinators' filter of the members page by language: "Arabic" finds the member who wrote "Arabisch"
    and the one who wrote "العربية", not a dialect or another language (only profiles shared with the network)."""
    from network_service.languages import spellings_of
    from tests.helpers import share_profile

    def seed():
        network = session.get(Network, world.network_id)
        for number, (name, languages) in enumerate(
            [
                ("Karim Arabisch", ["Deutsch", "Arabisch"]),
                ("Lina Arabic", ["العربية"]),
                ("Omar Dialect", ["Syrian Arabic"]),
                ("Piotr Polish", ["polski"]),
                ("Olha Ukrainian", ["Українська"]),
            ],
            start=10,
        ):
            person = member(network, number, languages=languages)
            person.display_name = name
            share_profile(person)

    run(seed)
    assert spellings_of("Unknown tongue") == ["Unknown tongue"]
    assert {"arabic", "arabisch", "العربية", "ar"} <= set(spellings_of("Arabic"))
    sign_in_as(client, run, "coord@example.org")
    for asked in ("Arabic", "arabisch", "ar", "Αραβικά"):
        page = client.get(f"/networks/{world.slug}/members", query_string={"language": asked}).get_data(
            as_text=True
        )
        assert "Karim Arabisch" in page and "Lina Arabic" in page, asked
        assert "Omar Dialect" not in page and "Piotr Polish" not in page, asked
    for asked in ("Ukrainian", "українська"):  # capital Cyrillic letters, \u-escaped on SQLite
        page = client.get(f"/networks/{world.slug}/members", query_string={"language": asked}).get_data(
            as_text=True
        )
        assert "Olha Ukrainian" in page and "Karim Arabisch" not in page, asked
    dialect = client.get(f"/networks/{world.slug}/members", query_string={"language": "Syrian Arabic"})
    page = dialect.get_data(as_text=True)
    assert "Omar Dialect" in page and "Karim Arabisch" not in page


def test_the_shipped_spellings_are_what_the_installed_babel_gives():
    from network_service import language_spellings
    from network_service.languages import build_spellings

    assert build_spellings() == language_spellings.SPELLINGS, (
        "run: .venv/bin/python tools/make_language_names.py"
    )


def test_known_languages_are_shown_in_the_readers_language(app):
    """Members write languages in their own words; a page shows a known language's name in the page's language,
    anything else as written."""
    from flask_babel import force_locale

    from network_service.languages import shown

    with app.test_request_context():
        assert [shown(n) for n in ["Arabic", "arabisch", "العربية", "Kurmanji", "Farsi", "fa"]] == [
            "Arabic",
            "Arabic",
            "Arabic",
            "Kurmanji",
            "Farsi",  # what many who speak it call it: not replaced by CLDR's "Persian"
            "Persian",
        ]
        with force_locale("de"):
            assert [shown(n) for n in ["Arabic", "ukrainian", "Kurmanji"]] == [
                "Arabisch",
                "Ukrainisch",
                "Kurmanji",
            ]
            reason = {"code": "language", "value": ["Arabic", "Ukrainian"]}
            assert ops.describe_reason(reason) == "spricht Arabisch, Ukrainisch"
        with force_locale("ar"):
            assert shown("German") == "الألمانية"
    assert shown("Arabic") == "Arabic"  # outside a request: as written
