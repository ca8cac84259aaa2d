"""The LTI platform side (capstone tools, lti_bridge/capstone) and the tool's cookie-less launch."""

from tests.route_access import ANYONE, CREDENTIAL, SIGNED_IN

ACCESS = {
    # the proof of the state in the body, and only from our own page (Origin / Sec-Fetch-Site)
    ("lti.launch_storage", "POST"): CREDENTIAL,
    # after a launch in a frame: a signed check token (where to go, which login) in the query
    "lti.frame": CREDENTIAL,
    "lti_platform.jwks": ANYONE,
    "lti_platform.launch": SIGNED_IN,  # any signed-in learner may start a capstone tool of a course
    # the tool's authorisation request: for the signed-in person whom its signed lti_message_hint names (anyone
    # else signed in gets 400, nobody gets a signature without it)
    "lti_platform.authorize": SIGNED_IN,
    # the tool's services: a client-assertion token, then bearer tokens with per-endpoint scopes
    "lti_platform.token": CREDENTIAL,
    "lti_platform.lineitems": CREDENTIAL,
    "lti_platform.lineitem": CREDENTIAL,
    "lti_platform.scores": CREDENTIAL,
    "lti_platform.results": CREDENTIAL,
}
