"""The personal-data scan of help requests: what it finds, what it leaves alone, and how it masks."""

from __future__ import annotations

import pytest

from network_service.help.privacy import ADDRESS, BIRTH_DATE, EMAIL, IDENTIFIER, NAME, PHONE, mask, scan


def kinds_and_texts(text, known=()):
    return [(f.kind, f.text) for f in scan(text, known)]


@pytest.mark.parametrize(
    "text, found",
    [
        # German
        ("Ruf sie an: +49 30 1234567", "+49 30 1234567"),
        ("Handy 0151-2345678 bitte", "0151-2345678"),
        ("Festnetz (030) 123 45 67.", "(030) 123 45 67"),
        ("Tel. 030/1234567", "030/1234567"),
        ("Nummer 0049 151 23456789", "0049 151 23456789"),
        ("+49 (0) 30 1234567", "+49 (0) 30 1234567"),
        ("0151 23456789", "0151 23456789"),
        # Italian
        ("chiamare +39 333 1234567", "+39 333 1234567"),
        ("il cellulare è 333 123 4567", "333 123 4567"),
        ("cell. 3331234567", "3331234567"),
        ("fisso 06 1234 5678", "06 1234 5678"),
        # Polish
        ("tel. +48 512 345 678", "+48 512 345 678"),
        ("dzwoń 512 345 678", "512 345 678"),
        ("numer 512-345-678", "512-345-678"),
        # Greek
        ("τηλ. +30 210 1234567", "+30 210 1234567"),
        ("κινητό 691 234 5678", "691 234 5678"),
        ("210 123 4567", "210 123 4567"),
        # Ukrainian
        ("+380 44 123 4567", "+380 44 123 4567"),
        ("моб. 067 123 45 67", "067 123 45 67"),
        ("(044) 123-45-67", "(044) 123-45-67"),
        # English
        ("call +44 20 7946 0958", "+44 20 7946 0958"),
    ],
)
def test_phone_numbers_are_found(text, found):
    assert (PHONE, found) in kinds_and_texts(text)


@pytest.mark.parametrize(
    "text",
    [
        "I meet her on 12 May at 10:30",
        "Article 16a of the Basic Law",
        "§ 60a AufenthG, Absatz 2",
        "Termin am 05.06.2024 um 10 Uhr",
        "Termin am 5.6.2024",
        "on 2024-06-05 at 09:00",
        "in 2023-2024 we had 15 meetings with 120 people",
        "Die Frist ist 14 Tage, die Gebühr 100 Euro",
        "costs 10000 Euro",
        "Bus 123 then tram M10",
        "Raum 0.12 im 3. Stock",
        "il 12/05/2024 alle 10",
        "від 2020 до 2024 року",
        "Version 1.2.3",
        "Kapitel 12, Seite 345",
        "about 1 500 000 refugees",
    ],
)
def test_ordinary_text_has_no_findings(text):
    assert scan(text) == []


@pytest.mark.parametrize(
    "text, found",
    [
        ("mail anna.k@example.org please", "anna.k@example.org"),
        ("E-Mail: ahmad_99@gmx.de.", "ahmad_99@gmx.de"),
        ("scrivi a mario.rossi@libero.it", "mario.rossi@libero.it"),
        ("napisz: jan+kontakt@wp.pl", "jan+kontakt@wp.pl"),
        ("anna (at) example.org", "anna (at) example.org"),
        ("olena@ukr.net", "olena@ukr.net"),
    ],
)
def test_email_addresses_are_found(text, found):
    assert kinds_and_texts(text) == [(EMAIL, found)]


@pytest.mark.parametrize(
    "text, found",
    [
        ("Sie wohnt in der Hauptstraße 12 im Hinterhaus", "Hauptstraße 12"),
        ("Musterstr. 5", "Musterstr. 5"),
        ("Berliner Straße 7a", "Berliner Straße 7a"),
        ("Lindenallee 3", "Lindenallee 3"),
        ("Am Kiefernweg 14", "Kiefernweg 14"),
        ("abita in Via Roma 10", "Via Roma 10"),
        ("Piazza della Repubblica 3", "Piazza della Repubblica 3"),
        ("Viale Monza, 5", "Viale Monza, 5"),
        ("mieszka przy ul. Długa 5", "ul. Długa 5"),
        ("al. Jerozolimskie 44/2", "al. Jerozolimskie 44/2"),
        ("lives at 12 Baker Street", "12 Baker Street"),
        ("5a High Road", "5a High Road"),
        ("μένει στην Οδός Ερμού 10", "Οδός Ερμού 10"),
        ("Λεωφόρος Αλεξάνδρας 5", "Λεωφόρος Αλεξάνδρας 5"),
        ("живе на вул. Шевченка 5", "вул. Шевченка 5"),
        ("вулиця Хрещатик 22", "вулиця Хрещатик 22"),
        ("10115 Berlin", "10115 Berlin"),
        ("00-950 Warszawa", "00-950 Warszawa"),
        ("105 57 Αθήνα", "105 57 Αθήνα"),
        ("20121 Milano", "20121 Milano"),
        ("01001 Київ", "01001 Київ"),
    ],
)
def test_street_addresses_are_found(text, found):
    assert (ADDRESS, found) in kinds_and_texts(text)


@pytest.mark.parametrize(
    "text",
    [
        "Wir treffen uns am Platz vor dem Rathaus",
        "Die Straße war gesperrt, 3 Stunden lang",
        "La via più breve è il corso di lingua",
        "Kurs für 25 Personen",
        "12 Monate Aufenthalt",
        "Sie hat die 2 Prüfungen bestanden",
    ],
)
def test_ordinary_places_and_counts_are_not_addresses(text):
    assert scan(text) == []


@pytest.mark.parametrize(
    "text, found",
    [
        ("Mrs Ahmadi needs an interpreter", "Ahmadi"),
        ("Mr. John Smith called", "John Smith"),
        ("Frau Yilmaz hat einen Termin", "Yilmaz"),
        ("Herr Nowak braucht Hilfe", "Nowak"),
        ("la Signora Rossi ha bisogno", "Rossi"),
        ("Pani Kowalska ma wizytę", "Kowalska"),
        ("η κυρία Παπαδοπούλου", "Παπαδοπούλου"),
        ("пані Коваль має зустріч", "Коваль"),
        ("a woman called Amina Said", "Amina Said"),
        ("a boy named Omar", "Omar"),
        ("der Junge heißt Karim", "Karim"),
        ("il bambino si chiama Luca", "Luca"),
        ("dziewczynka nazywa się Anna Kowalska", "Anna Kowalska"),
        ("το παιδί ονομάζεται Νίκος", "Νίκος"),
        ("хлопчика звати Андрій", "Андрій"),
    ],
)
def test_names_of_third_parties_are_found(text, found):
    assert (NAME, found) in kinds_and_texts(text)


@pytest.mark.parametrize(
    "text",
    [
        "Das heißt Sie müssen warten",
        "das heißt, wir brauchen einen Termin",
        "Frau Weber from our network can help",  # a colleague
        "Ask Mrs Clara Weber",  # a colleague, full name
        "The course is called a refresher",  # lower case: not a name
        "mr smith",  # no capital: too weak a sign
    ],
)
def test_colleagues_and_phrases_are_not_third_parties(text):
    assert [f for f in scan(text, ["Clara Weber", "Marco Meta"]) if f.kind == NAME] == []


def test_a_colleague_name_does_not_hide_a_stranger_with_the_same_title():
    assert kinds_and_texts("Frau Weber and Frau Yilmaz", ["Clara Weber"]) == [(NAME, "Yilmaz")]


def test_findings_are_in_text_order_without_overlaps():
    text = "Mrs Ahmadi (ahmadi@example.org, +49 151 2345678) lives at Hauptstraße 12, 10115 Berlin."
    found = scan(text)
    assert [f.kind for f in found] == [NAME, EMAIL, PHONE, ADDRESS, ADDRESS]
    assert all(a.end <= b.start for a, b in zip(found, found[1:], strict=False))
    assert all(text[f.start : f.end] == f.text for f in found)


def test_mask_replaces_each_finding_by_its_marker(app):
    with app.test_request_context():
        text = "Call +49 30 1234567 or write to a@example.org; she lives in Via Roma 10. Mrs Rossi agrees."
        masked = mask(text)
        assert masked == (
            "Call [phone number removed] or write to [e-mail address removed]; she lives in "
            "[address removed]. Mrs [name removed] agrees."
        )
        assert scan(masked) == []
        assert mask("nothing to hide") == "nothing to hide"
        assert mask("") == ""


def test_markers_are_in_the_readers_language(app):
    from flask_babel import force_locale

    with app.test_request_context(), force_locale("de"):
        [finding] = scan("0151-2345678")
        assert finding.replacement and finding.as_dict()["kind"] == PHONE


def test_empty_and_none_are_fine():
    assert scan(None) == [] and scan("") == []


@pytest.mark.parametrize(
    "text, found",
    [
        ("Konto DE89 3704 0044 0532 0130 00 bitte", "DE89 3704 0044 0532 0130 00"),
        ("IBAN: IT60X0542811101000000123456", "IT60X0542811101000000123456"),
        ("codice fiscale RSSMRA85T10A562S", "RSSMRA85T10A562S"),
        ("Aktenzeichen 1234567-123 vom BAMF", "1234567-123"),
        ("Ihr Az.: 7654321-439", "7654321-439"),
        ("passport no. X1234567", "X1234567"),
        ("permesso di soggiorno n. I12345678", "I12345678"),
        ("numer sprawy WSO.1234.2024", "WSO.1234.2024"),
        ("PESEL 44051401359", "44051401359"),
        ("ΑΜΚΑ 12345678901", "12345678901"),
        ("паспорт ЕК123456", "ЕК123456"),
        ("case number: 2024/5531", "2024/5531"),
    ],
)
def test_identity_case_and_account_numbers_are_found(text, found):
    assert kinds_and_texts(text) == [(IDENTIFIER, found)]


@pytest.mark.parametrize(
    "text, found",
    [
        ("she was born on 12/03/1990 in Kabul", "12/03/1990"),
        ("geboren am 3. Mai 1988", "3. Mai 1988"),
        ("nata il 05/11/1992", "05/11/1992"),
        ("urodzony 1990-03-12", "1990-03-12"),
        ("народився 12.03.1990", "12.03.1990"),
        ("DOB: March 12, 1990", "March 12, 1990"),
        ("γεννήθηκε 12/03/1990", "12/03/1990"),
    ],
)
def test_dates_of_birth_are_found(text, found):
    assert kinds_and_texts(text) == [(BIRTH_DATE, found)]


@pytest.mark.parametrize(
    "text",
    [
        "The appointment is on 12/03/2025 at 10",
        "Termin am 3. Mai 2025 beim Amt",
        "The ID card office opens at 9",
        "passport photos cost 12 euros",
        "Konto DE89370400440532013001",  # a wrong check digit is not an IBAN
        "this is case 3 of the week",
        "a birthday party for 20 people",
    ],
)
def test_other_numbers_and_dates_are_left_alone(text):
    assert scan(text) == []


def test_numbers_and_birth_dates_are_masked(app):
    with app.test_request_context():
        masked = mask("Pass X1234567, geboren am 01.02.1990")
    assert masked == "Pass [number removed], geboren am [date of birth removed]"
