"""The plugin app's registration with Open edX (edx-django-utils plugin conventions)."""

from __future__ import annotations

from django.apps import AppConfig


class MentorNetLmsConfig(AppConfig):
    name = "mentornet_xblock.lms"
    label = "mentornet_lms"
    verbose_name = "mentorNET XBlock LTI endpoints"

    plugin_app = {
        "url_config": {
            "lms.djangoapp": {
                "namespace": "mentornet_lti",
                "regex": r"^mentornet/lti/",
                "relative_path": "urls",
            },
        },
    }
