"""The LMS-wide endpoints of the mentorNET XBlock's LTI platform: ``/mentornet/lti/authorize`` and ``/jwks``.

mentorNET registers one OIDC authorisation URL and one key set URL per platform, but an XBlock's handlers live
at one address per block. This small plugin app (entry point ``lms.djangoapp``) gives the LMS the two fixed
addresses; the authorisation URL sends the browser on to the block named in the signed ``lti_message_hint``.
"""
