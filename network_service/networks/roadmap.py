"""The strategy's roadmap for a network: four phases, each with checkpoints computed from data.

Modules register the checkpoints their data decides (``register_checkpoint``): a Meta-Mentor appointed, rules
published, first meeting held, help requests answered, ... The roadmap page (goals module) shows each phase with
its checkpoints reached or open. A checkpoint's ``reached`` runs one or two aggregate queries; it never loads
rows it does not need.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from network_service.networks.models import Network


class Phase(enum.StrEnum):
    initiate = "initiate"  # graduates of the MOOC are invited into the network
    organise = "organise"  # roles, rules, the agreement
    sustain = "sustain"  # conversations, meetings, mutual help, shared goals and resources
    grow = "grow"  # promotion, new organisations, networks of networks


@dataclass(frozen=True)
class Checkpoint:
    key: str
    phase: Phase
    order: int
    label: Callable[[], str]  # in the viewer's language
    reached: Callable[[Network], bool]
    hint: Callable[[], str] | None = None  # what to do to reach it


_CHECKPOINTS: dict[str, Checkpoint] = {}


def register_checkpoint(checkpoint: Checkpoint) -> None:
    _CHECKPOINTS[checkpoint.key] = checkpoint


def checkpoints() -> list[Checkpoint]:
    phases = list(Phase)
    return sorted(_CHECKPOINTS.values(), key=lambda c: (phases.index(c.phase), c.order, c.key))
