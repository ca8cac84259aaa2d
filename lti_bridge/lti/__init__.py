"""The LTI 1.3 tool: mentorNET launched from Moodle, Canvas, Brightspace, Open edX or any LTI 1.3 platform.

Every launch check is done here on PyJWT and ``requests`` (see ``launch.py``); registrations are managed with
``mentornet lti platform ...`` and the tool's signing keys with ``mentornet lti keys rotate``.
"""
