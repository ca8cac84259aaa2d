"""Demo content for conversations: the general channel with threads and replies, a private group, a direct
message and a mention. Created through the operations, so notifications and read markers are real."""

from __future__ import annotations

from network_service.conversations import operations
from network_service.conversations.models import ChannelKind
from network_service.db import session


def seed_demo(network, people: dict) -> None:
    """``people``: label -> Person, labels as in ``network_service.demo.DEMO_PEOPLE``."""
    session.flush()
    coordinator = people["Coordinator"]
    meta = people["Meta-Mentor"]
    office = people["Network office"]
    amira = people["Experienced mentor"]
    jonas = people["Novice mentor"]

    general = operations.create_default_channels(network, actor=coordinator)[0]
    operations.update_channel(
        general,
        actor=coordinator,
        description="News, questions and tips for everyone in the network.",
    )
    welcome = operations.post_message(
        general,
        actor=coordinator,
        body="Welcome to the network's conversations! Introduce yourself in a reply: "
        "which languages do you speak, and what can others ask you about?",
    )
    operations.post_message(
        general,
        actor=amira,
        parent=welcome,
        body="Hi all, I am Amira. Arabic and English; ask me about **job search** and getting diplomas recognised.",
    )
    operations.post_message(
        general,
        actor=jonas,
        parent=welcome,
        body="Hello! Jonas here, new to mentoring. German and Italian. Happy to help with school enrolment.",
    )
    question = operations.post_message(
        general,
        actor=jonas,
        body="Does anyone know how long the recognition of a nursing diploma takes in Berlin? "
        "@[Amira Saleh] maybe you?",
    )
    operations.post_message(
        general,
        actor=amira,
        parent=question,
        body="Usually 3 to 4 months once all documents are there. Checklist:\n\n"
        "1. Certified copy of the diploma\n2. Certified translation\n3. Proof of work experience",
    )
    operations.post_message(
        general,
        actor=office,
        body="Reminder: the monthly meeting is on the first Tuesday, 18:00, in the community centre. "
        "Please keep names and details of the people you mentor out of the conversations.",
    )

    group = operations.create_channel(
        network,
        actor=meta,
        name="Mentors for Arabic speakers",
        kind=ChannelKind.private,
        description="Peer support for mentors who work in Arabic.",
        member_ids=[amira.id],
    )
    operations.post_message(
        group,
        actor=meta,
        body="Shall we collect the Arabic versions of the most-used forms in one place?",
    )

    direct = operations.open_direct(network, actor=jonas, person_ids=[meta.id])
    operations.post_message(
        direct,
        actor=jonas,
        body="Hi Yusuf, could we talk about my first mentoring meeting before next week?",
    )
    operations.post_message(direct, actor=meta, body="Of course. Thursday after 17:00 works for me.")
