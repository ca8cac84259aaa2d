"""The personal-data scan of help requests and responses: pure functions, no database.

Mentors write about the people they accompany. Phone numbers, e-mail addresses, street addresses and names of
those people do not belong in the network. ``scan`` finds what looks like them, ``mask`` replaces each finding
by a neutral marker ("[phone number removed]"). It is a heuristic that errs towards asking: the author sees
every finding and decides (mask, edit, or confirm that it is not personal data).

What is recognised (see docs/help.md):

* phone numbers: international (+49 30 1234567, 0049 ..., +39 333 1234567), national with a leading 0
  (0151-2345678, (030) 123 45 67, 030/1234567, 067 123 45 67, (044) 123-45-67), Italian mobiles (333 123 4567),
  Polish numbers in groups (512 345 678), Greek numbers (210 123 4567, 691 234 5678); dates are not numbers;
* e-mail addresses, also written "name (at) example.org";
* street addresses: German (Hauptstraße 12, Musterstr. 5, Berliner Straße 7a), Italian (Via Roma 10, Piazza
  della Repubblica 3), Polish (ul. Długa 5, al. Jerozolimskie 44/2), English (12 Baker Street), Greek (Οδός Ερμού
  10), Ukrainian and Russian (вул. Шевченка 5, ул. Ленина 3), and a postcode next to a town (10115 Berlin,
  00-950 Warszawa, 105 57 Αθήνα);
* names of third parties: a title or honorific followed by capitalised words (Mrs Ahmadi, Herr Yilmaz,
  Signora Rossi, Pani Nowak, κυρία Παπαδοπούλου, пані Коваль), or "named / called / heißt / si chiama / nazywa
  się / ονομάζεται / звати" followed by capitalised words. The names of the author's network colleagues are
  not third parties;
* identity, case and account numbers: IBANs (checked with their check digits), Italian tax codes, and a number
  after a cue word such as passport, ID card, residence permit, case/file number, Aktenzeichen, Ausweis,
  Aufenthaltstitel, permesso di soggiorno, codice fiscale, numer sprawy, PESEL, karta pobytu, ΑΜΚΑ, ΑΦΜ,
  διαβατήριο, паспорт, номер справи, ІПН;
* dates of birth: a date after born (on), date of birth, DOB, geboren (am), geb., nato/nata il, data di
  nascita, urodzony/urodzona, data urodzenia, γεννήθηκε, ημερομηνία γέννησης, народився/народилася, дата
  народження. Other dates (appointments, deadlines) are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

PHONE = "phone"
EMAIL = "email"
ADDRESS = "address"
NAME = "name"
IDENTIFIER = "identifier"
BIRTH_DATE = "birth_date"
KINDS = (PHONE, EMAIL, ADDRESS, NAME, IDENTIFIER, BIRTH_DATE)

_REPLACEMENTS = {
    PHONE: _l("[phone number removed]"),
    EMAIL: _l("[e-mail address removed]"),
    ADDRESS: _l("[address removed]"),
    NAME: _l("[name removed]"),
    IDENTIFIER: _l("[number removed]"),
    BIRTH_DATE: _l("[date of birth removed]"),
}
KIND_LABELS = {
    PHONE: _l("Phone number"),
    EMAIL: _l("E-mail address"),
    ADDRESS: _l("Street address"),
    NAME: _l("Name of a person"),
    IDENTIFIER: _l("Document, case or account number"),
    BIRTH_DATE: _l("Date of birth"),
}


@dataclass(frozen=True)
class Finding:
    kind: str  # one of KINDS
    start: int  # span in the scanned text
    end: int
    text: str

    @property
    def replacement(self) -> str:
        """The marker that replaces the finding, in the current language."""
        return str(_REPLACEMENTS[self.kind])

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "replacement": self.replacement,
        }


# -- phone numbers --------------------------------------------------------------------------------------------

_SEP = r"[ ./\-]"
_END = r"(?![\w]|[./\-]\d)"
_INTERNATIONAL = re.compile(
    rf"(?<![\w+])(?:\+|00)[1-9]\d{{0,2}}(?:{_SEP}?\(0\))?(?:{_SEP}{{0,2}}\(?\d{{1,6}}\)?){{1,6}}{_END}"
)
_NATIONAL = re.compile(rf"(?<![\w+/.\-])(?:\(0\d{{1,5}}\)|0\d{{1,5}})(?:{_SEP}{{0,2}}\d{{2,8}}){{1,5}}{_END}")
_MOBILE = re.compile(
    r"(?<![\w+/.\-])(?:"
    r"3\d{2}[ .\-]?\d{3}[ .\-]?\d{3,4}"  # Italian mobile, 10 digits
    r"|[4-8]\d{2}[ \-]\d{3}[ \-]\d{3}"  # Polish, 9 digits in groups of three
    r"|69\d[ .\-]?\d{3}[ .\-]?\d{4}"  # Greek mobile
    r"|2\d{2}[ .\-]?\d{3}[ .\-]?\d{4}"  # Greek landline
    rf"){_END}"
)
_DATE = re.compile(r"^\(?\d{1,4}[./\-]\d{1,2}[./\-]\d{1,4}\)?$")


def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


def _phones(text: str) -> Iterable[tuple[int, int]]:
    for match in _INTERNATIONAL.finditer(text):
        if 8 <= _digits(match.group()) <= 15:
            yield match.span()
    for match in _NATIONAL.finditer(text):
        value = match.group()
        if 7 <= _digits(value) <= 13 and not _DATE.match(value):
            yield match.span()
    for match in _MOBILE.finditer(text):
        yield match.span()


# -- e-mail addresses -----------------------------------------------------------------------------------------

_EMAIL = re.compile(
    r"(?<![\w.+\-])[\w.+\-]+(?:@|\s?[(\[]\s?(?:at|ät|@)\s?[)\]]\s?)[\w\-]+(?:(?:\.|\s?[(\[]\s?dot\s?[)\]]\s?)[\w\-]+)*"
    r"(?:\.|\s?[(\[]\s?dot\s?[)\]]\s?)[A-Za-z]{2,24}\b",
    re.IGNORECASE,
)

# -- street addresses -----------------------------------------------------------------------------------------

_UPPER = "A-ZÄÖÜÀ-ÖØ-ÞĄĆĘŁŃÓŚŹŻΑ-ΩΆ-ΏА-ЯЄІЇҐ"
_CAP = rf"[{_UPPER}][\w'’.\-]*"
_NUMBER = r"\d{1,4}(?:\s?[a-zA-Zа-яА-Я](?![\w]))?(?:/\d{1,4}[a-zA-Z]?)?"
_ADDRESSES = [
    # German: Hauptstraße 12, Musterstr. 5, Lindenallee 3a, Am Markt? (no: too vague)
    re.compile(
        rf"(?<![\w])[{_UPPER}][\w\-]*(?:straße|strasse|str\.|weg|allee|platz|gasse|damm|ring|ufer|chaussee|"
        rf"steig|pfad|stieg)\s?,?\s?{_NUMBER}(?![\w.]\d)"
    ),
    # German, separate words: Berliner Straße 7a, Straße des 17. Juni 110 is left to the author
    re.compile(
        rf"(?<![\w])[{_UPPER}][\w\-]+\s(?:Straße|Strasse|Str\.|Weg|Allee|Platz|Gasse|Damm|Ring|Ufer|Chaussee)"
        rf"\s?,?\s?{_NUMBER}(?![\w.]\d)"
    ),
    # Italian: Via Roma 10, Viale Monza, 5, Piazza della Repubblica 3, Corso Vittorio Emanuele II 21
    re.compile(
        rf"(?<![\w])(?:Via|Viale|V\.le|Piazza|P\.zza|P\.za|Corso|C\.so|Largo|Vicolo|Piazzale|Lungomare)\s+"
        rf"(?:(?:di|del|della|dei|degli|delle|d'|dell'|[IVX]+|{_CAP})\s*){{1,5}}?,?\s?(?:n\.\s?)?{_NUMBER}"
        rf"(?![\w.]\d)",
    ),
    # Polish: ul. Długa 5, ulica Długa 5, al. Jerozolimskie 44/2, pl. Zbawiciela 3, os. Tysiąclecia 12
    re.compile(
        rf"(?<![\w])(?:ul\.|ulica|al\.|aleja|pl\.|plac|os\.|osiedle)\s*(?:{_CAP}\s+){{1,4}}?{_NUMBER}"
        rf"(?![\w.]\d)",
        re.IGNORECASE,
    ),
    # English: 12 Baker Street, 5a High St.
    re.compile(
        rf"(?<![\w.,])\d{{1,4}}[a-zA-Z]?,?\s+(?:{_CAP}\s+){{1,3}}(?:Street|St\.|Road|Rd\.|Avenue|Ave\.|Lane|"
        rf"Drive|Close|Square|Place|Terrace|Crescent|Gardens|Grove)(?![\w])"
    ),
    # Greek: Οδός Ερμού 10, Λεωφόρος Αλεξάνδρας 5, Πλατεία Κλαυθμώνος 2
    re.compile(
        rf"(?<![\w])(?:Οδός|οδός|Οδ\.|οδ\.|Λεωφόρος|λεωφόρος|Λεωφ\.|λεωφ\.|Πλατεία|πλατεία)\s+"
        rf"(?:[\w'’.\-]+\s+){{1,4}}?{_NUMBER}(?![\w.]\d)"
    ),
    # Ukrainian and Russian: вул. Шевченка 5, вулиця Хрещатик 22, просп. Перемоги 10, ул. Ленина 3
    re.compile(
        rf"(?<![\w])(?:вул\.|вулиця|просп\.|проспект|пров\.|провулок|бульв\.|бульвар|пл\.|площа|ул\.|улица)\s*"
        rf"(?:[\w'’.\-]+\s+){{1,4}}?(?:буд\.\s?)?{_NUMBER}(?![\w.]\d)",
        re.IGNORECASE,
    ),
]
_NOT_TOWNS = {
    "euro", "euros", "eur", "dollar", "dollars", "usd", "złoty", "zloty", "pln", "uah", "gbp", "pounds",
    "people", "menschen", "persone", "osób", "members", "mitglieder", "einwohner", "inhabitants", "km", "meter",
}  # fmt: skip
_POSTCODES = re.compile(
    rf"(?<![\w.,\-])(?:(?:D|I|PL|GR|UA)-)?(?:\d{{5}}|\d{{2}}-\d{{3}}|\d{{3}}\s\d{{2}})\s+([{_UPPER}][\w\-]+)"
)


def _addresses(text: str) -> Iterable[tuple[int, int]]:
    for pattern in _ADDRESSES:
        for match in pattern.finditer(text):
            yield match.span()
    for match in _POSTCODES.finditer(text):
        if match.group(1).casefold() not in _NOT_TOWNS:
            yield match.span()


# -- names of third parties -----------------------------------------------------------------------------------

_WORD = rf"[{_UPPER}][\w'’\-]+"
_TITLES = (
    r"Mr|Mrs|Ms|Miss|Mx|Dr|Herr|Herrn|Frau|Signor|Signora|Signorina|Sig|Sig\.ra|Pan|Pani|Panu|Panią|"
    r"κύριος|κύριο|κυρία|κ|пан|пані|пана|господин|госпожа"
)
_TITLED = re.compile(rf"(?<![\w])(?:{_TITLES})\.?\s+({_WORD}(?:\s+{_WORD})?)")
_CALLED = re.compile(
    rf"(?<![\w])(?:named|called|(?<!das )(?<!Das )(?<!d\.h\. )heißt|hieß|namens|si chiama|di nome|"
    rf"nazywa się|ma na imię|ονομάζεται|τον λένε|τη λένε|την λένε|звати|звуть|на ім'я|на імʼя|зовут)\s+"
    rf"({_WORD}(?:\s+{_WORD})?)",
)
# Capitalised words that follow those cues without being a name (German nouns and polite pronouns, ...).
_NOT_NAMES = {
    "sie", "ihr", "ihre", "ihnen", "ich", "er", "es", "wir", "the", "a", "an", "der", "die", "das", "ein",
    "eine", "lei", "il", "la", "lo", "i", "we", "he", "she", "it", "they", "this", "that", "doctor",
    "präsident", "president", "minister", "bürgermeister",
}  # fmt: skip


def _name_tokens(name: str) -> set[str]:
    return {token.casefold() for token in re.findall(r"[\w'’\-]+", name) if len(token) > 1}


def _is_colleague(candidate: str, colleagues: Iterable[set[str]]) -> bool:
    words = _name_tokens(candidate)
    return bool(words) and any(words <= tokens for tokens in colleagues)


def _names(text: str, known_names: Iterable[str]) -> Iterable[tuple[int, int]]:
    colleagues: list[set[str]] | None = None  # the names' words, only when the text names someone
    for pattern in (_TITLED, _CALLED):
        for match in pattern.finditer(text):
            name = match.group(1)
            words = name.split()
            if words[0].casefold() in _NOT_NAMES:
                continue
            if colleagues is None:
                colleagues = [tokens for tokens in (_name_tokens(n) for n in known_names) if tokens]
            if _is_colleague(name, colleagues):
                continue
            yield match.start(1), match.end(1)


# -- identity, case and account numbers ------------------------------------------------------------------------

_IBAN = re.compile(r"(?<![\w])[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?(?![\w])")
_CODICE_FISCALE = re.compile(r"(?<![\w])[A-Z]{6}\d{2}[A-EHLMPR-T]\d{2}[A-Z]\d{3}[A-Z](?![\w])")
_ID_CUES = (
    r"passport(?:\s+(?:no|number))?|id(?:\s+card)?(?:\s+(?:no|number))?|identity\s+card|residence\s+permit|"
    r"(?:case|file|reference|ref)\s*(?:no|number)?|"
    r"aktenzeichen|az|geschäftszeichen|gz|reisepass(?:nummer)?|pass-?nr|passnummer|pass|personalausweis(?:nummer)?|"
    r"ausweis(?:nummer)?|ausweis-nr|aufenthaltstitel|aufenthaltserlaubnis|duldung|steuer-?id|"
    r"sozialversicherungsnummer|bamf-?(?:az|aktenzeichen|nummer)?|"
    r"passaporto|numero\s+di\s+passaporto|permesso\s+di\s+soggiorno|numero\s+di\s+pratica|pratica|"
    r"codice\s+fiscale|carta\s+d['’]identità|"
    r"paszport|numer\s+paszportu|pesel|numer\s+sprawy|sygnatura(?:\s+akt)?|karta\s+pobytu|dowód(?:\s+osobisty)?|"
    r"αμκα|αφμ|διαβατήριο|αριθμός\s+διαβατηρίου|"
    r"паспорт|номер\s+справи|іпн|рнокпп|посвідка(?:\s+на\s+проживання)?"
)
_CUED_ID = re.compile(
    rf"(?<![\w])(?:{_ID_CUES})\.?\s*(?:(?:no|nr|n|num|№)\.?\s*)?[:#]?\s*"
    r"([A-Z0-9А-ЯΑ-Ω][A-Z0-9А-ЯΑ-Ω/\-.]{2,24}(?:\s(?=[A-Z]*\d)[A-Z0-9]{2,10}){0,3})",
    re.IGNORECASE,
)


def _iban_valid(value: str) -> bool:
    compact = value.replace(" ", "")
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def _identifiers(text: str) -> Iterable[tuple[int, int]]:
    for match in _IBAN.finditer(text):
        if _iban_valid(match.group()):
            yield match.span()
    for match in _CODICE_FISCALE.finditer(text):
        yield match.span()
    for match in _CUED_ID.finditer(text):
        value = match.group(1).rstrip(".-/")
        if _digits(value) >= 3 and not _DATE.match(value):
            yield match.start(1), match.start(1) + len(value)


# -- dates of birth ---------------------------------------------------------------------------------------------

_MONTH_WORD = r"[^\W\d_]{3,12}\.?"
_A_DATE = rf"(?:\d{{1,2}}[./\-]\d{{1,2}}[./\-]\d{{2,4}}|\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}}\.?\s{_MONTH_WORD}\s\d{{4}}|{_MONTH_WORD}\s\d{{1,2}},?\s\d{{4}})"
_BIRTH = re.compile(
    r"(?<![\w])(?:born(?:\s+on)?|date\s+of\s+birth|d\.?o\.?b\.?|birthday|geboren(?:\s+am)?|geb\.|"
    r"geburtsdatum|nat[oa]\s+il|data\s+di\s+nascita|urodzon[ya](?:\s+dnia)?|data\s+urodzenia|"
    r"γεννήθηκε(?:\s+στις)?|ημερομηνία\s+γέννησης|народи(?:вся|лася)|дата\s+народження)"
    rf"\s*:?\s*({_A_DATE})",
    re.IGNORECASE,
)


def _birth_dates(text: str) -> Iterable[tuple[int, int]]:
    for match in _BIRTH.finditer(text):
        yield match.span(1)


# -- scan and mask --------------------------------------------------------------------------------------------


def scan(text: str | None, known_names: Iterable[str] = ()) -> list[Finding]:
    """What in ``text`` looks like personal data, in text order, without overlaps (the longest of
    overlapping findings wins; on equal length the order e-mail, date of birth, number, phone, address, name
    decides).
    ``known_names``: the names of the author's network colleagues, which are not third parties."""
    if not text:
        return []
    candidates: list[tuple[int, int, str]] = []
    candidates += [(s, e, EMAIL) for s, e in (m.span() for m in _EMAIL.finditer(text))]
    candidates += [(s, e, PHONE) for s, e in _phones(text)]
    candidates += [(s, e, ADDRESS) for s, e in _addresses(text)]
    candidates += [(s, e, NAME) for s, e in _names(text, known_names)]
    candidates += [(s, e, IDENTIFIER) for s, e in _identifiers(text)]
    candidates += [(s, e, BIRTH_DATE) for s, e in _birth_dates(text)]
    priority = {EMAIL: 0, BIRTH_DATE: 1, IDENTIFIER: 2, PHONE: 3, ADDRESS: 4, NAME: 5}
    candidates.sort(key=lambda c: (-(c[1] - c[0]), priority[c[2]], c[0]))
    chosen: list[tuple[int, int, str]] = []
    for start, end, kind in candidates:
        start, end = _trim(text, start, end)
        if end <= start:
            continue
        if any(start < e and s < end for s, e, _k in chosen):
            continue
        chosen.append((start, end, kind))
    chosen.sort()
    return [Finding(kind, start, end, text[start:end]) for start, end, kind in chosen]


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while end > start and text[end - 1] in " ,.-/":
        end -= 1
    while start < end and text[start] in " ,":
        start += 1
    return start, end


def mask(text: str | None, findings: Iterable[Finding] | None = None, known_names: Iterable[str] = ()) -> str:
    """``text`` with every finding replaced by its marker (``findings`` default: a fresh scan)."""
    if not text:
        return text or ""
    if findings is None:
        findings = scan(text, known_names)
    out, position = [], 0
    for finding in sorted(findings, key=lambda f: f.start):
        out.append(text[position : finding.start])
        out.append(finding.replacement)
        position = finding.end
    out.append(text[position:])
    return "".join(out)
