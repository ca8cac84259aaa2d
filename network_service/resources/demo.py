"""Demo library: links to public organisations that support migrants, a note, a text and a PDF file."""

from __future__ import annotations

import io

from network_service.accounts.models import Person
from network_service.networks.models import Network
from network_service.resources import operations


def _pdf(lines: list[str]) -> bytes:
    """A small valid one-page PDF showing ``lines`` (ASCII) in Helvetica."""
    text = (
        "BT /F1 12 Tf 72 760 Td 16 TL "
        + " ".join(
            "(" + line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ") Tj T*"
            for line in lines
        )
        + " ET"
    )
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(text) + text.encode("ascii") + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


NOTE = """Before the first meeting with the person you accompany:

1. **Agree on a language** you both speak well enough, or bring someone who interprets.
2. **Meet in a public, calm place**: a library, a café, the office of the organisation.
3. **Listen first.** Ask what they need now; do not promise what you cannot do.
4. **Keep their data out of the network**: no names, phone numbers or case details in posts.
5. After the meeting, write down the next step and when you will meet again.

When you are unsure, ask the Meta-Mentor or post a help request in the network."""

TEMPLATE = """Notes after a mentoring meeting (keep them for yourself, never post them)

Date:
What we talked about:
What the person wants to do next:
What I promised to do:
Who else could help (advice centre, authority, another mentor):
Next meeting:
"""


def seed_demo(network: Network, people: dict[str, Person]) -> None:
    coordinator = people["Coordinator"]
    meta_mentor = people["Meta-Mentor"]
    office = people["Network office"]
    mentor = people["Experienced mentor"]

    operations.add_link(
        network,
        actor=office,
        title="UNHCR Help Germany",
        url="https://help.unhcr.org/germany/",
        description="UNHCR's information for refugees and asylum-seekers in Germany, in many languages.",
        language="English",
        tags=["asylum", "rights", "multilingual"],
    )
    operations.add_link(
        network,
        actor=mentor,
        title="Handbook Germany",
        url="https://handbookgermany.de/",
        description="Everyday questions (housing, work, health, family) explained for newcomers, in several languages.",
        language="Arabic",
        tags=["housing", "work", "health", "multilingual"],
    )
    operations.add_link(
        network,
        actor=coordinator,
        title="PRO ASYL",
        url="https://www.proasyl.de/",
        description="Independent human-rights organisation; news and guides on asylum law.",
        language="German",
        tags=["asylum", "law"],
    )
    operations.add_link(
        network,
        actor=meta_mentor,
        title="International Organization for Migration (IOM)",
        url="https://www.iom.int/",
        description="The UN migration agency: reports and programmes worldwide.",
        language="English",
        tags=["background"],
    )
    operations.add_note(
        network,
        actor=meta_mentor,
        title="Checklist: your first meeting as a mentor",
        body=NOTE,
        language="English",
        tags=["welcome", "novice mentors"],
    )
    operations.add_file(
        network,
        actor=office,
        stream=io.BytesIO(TEMPLATE.encode()),
        filename="meeting-notes-template.txt",
        title="Template: notes after a mentoring meeting",
        description="A plain text template to print or copy. Keep your notes private.",
        language="English",
        tags=["templates"],
    )
    operations.add_file(
        network,
        actor=coordinator,
        stream=io.BytesIO(
            _pdf(
                [
                    "Berlin Mentor Network - contacts of the network office",
                    "",
                    "Office hours: Tuesday and Thursday, 10:00 - 14:00",
                    "E-mail: office@example.org",
                    "",
                    "Write to the office when you cannot take part for a while,",
                    "when you need a contact for an advice centre, or when a",
                    "help request in the network stays unanswered.",
                ]
            )
        ),
        filename="network-office-contacts.pdf",
        title="Network office: contacts and office hours",
        language="English",
        tags=["contacts"],
    )
