"""The LTI 1.3 *platform* side, framework-free, on lti1p3platform 0.1.8.

Nothing in this package imports Flask, Django or the network service: the Open edX XBlock imports it inside the
LMS's Django process, and the bridge's own platform endpoints wrap it in Flask views. It never imports
lti1p3platform's bundled framework adapters (``lti1p3platform.framework`` imports ``pkg_resources``).

It closes the library's known gaps (see docs/lti.md, "Platform side"):

1. the id_token goes only to a redirect URI registered for the tool (``ToolRegistration.redirect_uris``);
2. the access-token endpoint checks the client assertion's ``aud``, ``iss``/``sub``, ``exp`` and spends its
   ``jti`` once (``PlatformConfig.get_access_token``);
3. each AGS/NRPS endpoint needs its own scope (``ScopedGradesService``, ``ScopedMembershipService``);
4. scores are validated before ``update_score`` sees them (``validate_score``);
5. ``?page=`` arrives as a string and is parsed, not added to (the library raises ``TypeError``).
"""
