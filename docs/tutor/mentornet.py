"""Tutor plugin for mentorNET in Open edX: the network panel XBlock and the completion forwarder.

Copy this file to ``$(tutor plugins printroot)/mentornet.py``, then (see docs/openedx-xblock.md):

    tutor plugins enable mentornet
    tutor config save --set MENTORNET_NETWORK_URL=https://mentornet.example.org \
        --set MENTORNET_CLIENT_ID=openedx-... --set "MENTORNET_PLATFORM_KEY=$(cat mentornet-platform.pem)"
    tutor images build openedx && tutor local launch

The values come from ``mentornet lti platform add --openedx https://<LMS host>`` on the mentorNET server.
"""

from tutor import hooks

MENTORNET_VERSION = "0.1.0"  # the mentorNET release you run (a wheel or VCS URL works too)

hooks.Filters.CONFIG_DEFAULTS.add_items(
    [
        ("MENTORNET_PIP_REQUIREMENT", f"mentornet[openedx]=={MENTORNET_VERSION}"),
        # The network panel (XBlock) and its LTI 1.3 platform.
        ("MENTORNET_NETWORK_URL", ""),  # mentorNET's BASE_URL
        ("MENTORNET_CLIENT_ID", ""),
        ("MENTORNET_DEPLOYMENT_ID", "1"),
        ("MENTORNET_PLATFORM_KEY", ""),  # the PEM the command printed; never share it
        ("MENTORNET_SHARE_PII", False),  # True only with --trust-email on the mentorNET side
        # The completion forwarder (docs/openedx.md); leave empty to not forward.
        ("MENTORNET_BRIDGE_URL", ""),
        ("MENTORNET_WEBHOOK_SECRET", ""),
    ]
)

# Install the package into the LMS and Studio image (the XBlock in both; the two plugin apps in the LMS).
hooks.Filters.ENV_PATCHES.add_item(
    ("openedx-dockerfile-post-python-requirements", 'RUN pip install "{{ MENTORNET_PIP_REQUIREMENT }}"')
)

# XBLOCK_SETTINGS in LMS and Studio (Studio shows authors what is missing). The issuer is this LMS.
hooks.Filters.ENV_PATCHES.add_item(
    (
        "openedx-common-settings",
        """
# mentorNET network panel (XBlock "mentornet")
XBLOCK_SETTINGS = globals().get("XBLOCK_SETTINGS", {})
XBLOCK_SETTINGS["mentornet"] = {
    "NETWORK_URL": {{ MENTORNET_NETWORK_URL | tojson }},
    "ISSUER": "{% if ENABLE_HTTPS %}https{% else %}http{% endif %}://{{ LMS_HOST }}",
    "CLIENT_ID": {{ MENTORNET_CLIENT_ID | tojson }},
    "DEPLOYMENT_ID": {{ MENTORNET_DEPLOYMENT_ID | tojson }},
    "PLATFORM_KEY": {{ MENTORNET_PLATFORM_KEY | tojson }},
    "SHARE_PII": {{ "True" if MENTORNET_SHARE_PII else "False" }},
}
""",
    )
)

hooks.Filters.ENV_PATCHES.add_item(
    (
        "openedx-lms-common-settings",
        """
# mentorNET completion forwarder
MENTORNET_BRIDGE_URL = {{ MENTORNET_BRIDGE_URL | tojson }}
MENTORNET_WEBHOOK_SECRET = {{ MENTORNET_WEBHOOK_SECRET | tojson }}
""",
    )
)
