"""The plugin app's registration with Open edX (edx-django-utils plugin conventions)."""

from __future__ import annotations

from django.apps import AppConfig

_PASSING_SIGNAL = "openedx_events.learning.signals.COURSE_PASSING_STATUS_UPDATED"
_CERTIFICATE_SIGNAL = "openedx_events.learning.signals.CERTIFICATE_CREATED"


class ForwarderConfig(AppConfig):
    """Adds our settings defaults to the LMS and connects the receivers when the LMS starts.

    Open edX imports this class while it is still building its settings, so nothing here may read
    ``django.conf.settings`` at import time.
    """

    name = "mentornet_xblock.forwarder"
    label = "mentornet_forwarder"
    verbose_name = "mentorNET completion forwarder"

    plugin_app = {
        "settings_config": {
            "lms.djangoapp": {
                "common": {"relative_path": "settings.common"},
                "production": {"relative_path": "settings.production"},
            },
        },
        "signals_config": {
            "lms.djangoapp": {
                "relative_path": "receivers",
                "receivers": [
                    {
                        "receiver_func_name": "forward_course_passing_status",
                        "signal_path": _PASSING_SIGNAL,
                        "dispatch_uid": "mentornet_forwarder.course_passing_status",
                    },
                    {
                        "receiver_func_name": "forward_certificate_created",
                        "signal_path": _CERTIFICATE_SIGNAL,
                        "dispatch_uid": "mentornet_forwarder.certificate_created",
                    },
                ],
            },
        },
    }
