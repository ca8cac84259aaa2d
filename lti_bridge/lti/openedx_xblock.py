"""Register an Open edX LMS whose mentorNET XBlock launches this tool, in one step.

The XBlock is the LTI platform; its LMS-wide endpoints (``mentornet_xblock.lms``) are the OIDC authorisation URL
and the key set. This makes the tool-side registration and the ``XBLOCK_SETTINGS`` the LMS needs, with a new
platform key (the LMS signs with it; mentorNET only ever sees its public half, through the key set URL).
"""

from __future__ import annotations

import dataclasses
import secrets
from pprint import pformat

from lti_bridge.lti.models import LtiPlatform
from lti_bridge.lti.registrations import _url, add_platform
from lti_bridge.platform.keys import generate_private_key_pem

AUTHORIZE_PATH = "/mentornet/lti/authorize"  # mentornet_xblock.config.AUTHORIZE_PATH
JWKS_PATH = "/mentornet/lti/jwks"
# Not served: the XBlock offers no AGS/NRPS, so the tool never asks it for an access token.
TOKEN_PATH = "/mentornet/lti/token"  # noqa: S105  # nosec B105 (a path, not a password)
DEPLOYMENT = "1"


@dataclasses.dataclass
class OpenedxRegistration:
    platform: LtiPlatform
    xblock_settings: dict[str, object]

    def snippet(self) -> str:
        """Python for the LMS settings (Tutor: the ``openedx-lms-common-settings`` patch)."""
        return (
            'XBLOCK_SETTINGS = globals().get("XBLOCK_SETTINGS", {})\n'
            f'XBLOCK_SETTINGS["mentornet"] = {pformat(self.xblock_settings, width=100, sort_dicts=False)}\n'
        )


def register_openedx(lms_url: str, network_url: str, *, trust_email: bool = False) -> OpenedxRegistration:
    """The LMS at ``lms_url`` as a platform (issuer = its root URL). With ``trust_email`` the LMS shares
    username, name and e-mail (SHARE_PII) and its e-mail claim signs learners in; otherwise only the anonymous
    id goes, and each learner confirms an address once."""
    lms = _url(lms_url, "openedx").rstrip("/")
    client_id = f"openedx-{secrets.token_hex(8)}"
    platform = add_platform(
        lms,
        client_id,
        [DEPLOYMENT],
        lms + AUTHORIZE_PATH,
        lms + TOKEN_PATH,
        lms + JWKS_PATH,
        trust_email=trust_email,
    )
    platform.product = "openedx"  # LTI's product_family_code of Open edX
    settings = {
        "NETWORK_URL": network_url.rstrip("/"),
        "ISSUER": lms,
        "CLIENT_ID": client_id,
        "DEPLOYMENT_ID": DEPLOYMENT,
        "SHARE_PII": trust_email,
        "PLATFORM_KEY": generate_private_key_pem(),
    }
    return OpenedxRegistration(platform, settings)
