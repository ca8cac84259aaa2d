"""Defaults for every LMS environment; the operator's own settings (Tutor patches, YAML) win."""

from __future__ import annotations

from mentornet_xblock.forwarder.conf import DEFAULTS


def plugin_settings(settings) -> None:
    for name, value in DEFAULTS.items():
        if not hasattr(settings, name):
            setattr(settings, name, value)
