"""Production LMS: values from the LMS YAML (older releases keep it in ENV_TOKENS / AUTH_TOKENS), then the
process environment, so the secret can stay out of the YAML file."""

from __future__ import annotations

import os

from mentornet_xblock.forwarder.conf import DEFAULTS


def plugin_settings(settings) -> None:
    yaml_tokens = {
        **(getattr(settings, "ENV_TOKENS", None) or {}),
        **(getattr(settings, "AUTH_TOKENS", None) or {}),
    }
    for name in DEFAULTS:
        if name in yaml_tokens:
            setattr(settings, name, yaml_tokens[name])
    # Only the two values an operator is likely to inject as container secrets come from the environment,
    # and only when nothing else set them.
    for name in ("MENTORNET_BRIDGE_URL", "MENTORNET_WEBHOOK_SECRET"):
        if not getattr(settings, name, "") and os.environ.get(name):
            setattr(settings, name, os.environ[name])
