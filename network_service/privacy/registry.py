"""Where each module says what it holds about a person: ``register_exporter`` and ``register_eraser``.

The privacy module owns no one else's tables. A module (or ``privacy.contributors`` on its behalf) registers

- an **exporter** ``fn(person) -> JSON-able`` whose result becomes one section of the person's export, and
  optionally ``files(person) -> [(name in the ZIP, path on disk)]`` for files the person added;
- an **eraser** ``fn(erasure)`` that removes or pseudonymises the person's data in that module's tables before
  the person row itself is deleted (``erasure`` is a :class:`network_service.privacy.operations.Erasure`);
- an **identifier finder** ``fn(person) -> {kind: [values]}`` for identifiers other tables may carry (an LTI
  ``sub``, an LMS username), so that erasers elsewhere can find them too.

Plugins (``lti_bridge``) register theirs when they are loaded. Names are unique; registering a name again
replaces the earlier entry (a module reloaded in a test stays registered once).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any


@dataclasses.dataclass(frozen=True)
class Exporter:
    name: str
    export: Callable[[Any], Any]
    files: Callable[[Any], Iterable[tuple[str, Path]]] | None = None


@dataclasses.dataclass(frozen=True)
class Eraser:
    name: str
    erase: Callable[[Any], Any]
    order: int = 100  # lower runs first; everything runs before the person row is deleted


EXPORTERS: dict[str, Exporter] = {}
ERASERS: dict[str, Eraser] = {}
IDENTIFIER_FINDERS: dict[str, Callable[[Any], dict[str, list[str]]]] = {}


def register_exporter(
    name: str, fn: Callable[[Any], Any], files: Callable[[Any], Iterable[tuple[str, Path]]] | None = None
) -> None:
    EXPORTERS[name] = Exporter(name, fn, files)


def register_eraser(name: str, fn: Callable[[Any], Any], order: int = 100) -> None:
    ERASERS[name] = Eraser(name, fn, order)


def register_identifiers(name: str, fn: Callable[[Any], dict[str, list[str]]]) -> None:
    IDENTIFIER_FINDERS[name] = fn


def exporters() -> list[Exporter]:
    _load_core()
    return sorted(EXPORTERS.values(), key=lambda e: e.name)


def erasers() -> list[Eraser]:
    _load_core()
    return sorted(ERASERS.values(), key=lambda e: (e.order, e.name))


def identifier_finders() -> list[Callable[[Any], dict[str, list[str]]]]:
    _load_core()
    return [IDENTIFIER_FINDERS[name] for name in sorted(IDENTIFIER_FINDERS)]


def _load_core() -> None:
    from network_service.privacy import contributors  # noqa: F401 - registers the network service's modules
