"""The Open edX plugin app that forwards completion signals from the LMS to mentorNET's bridge.

Open edX finds it through the ``lms.djangoapp`` entry point (see ``apps.ForwarderConfig``). A pass or a new
certificate becomes one signed POST to ``<MENTORNET_BRIDGE_URL>/bridge/openedx/events``, sent in the background
(a Celery task when the LMS has a broker, otherwise a small thread in the LMS process) so the learner's request
is never slowed down or broken by mentorNET being away.

Nothing here is imported by ``mentornet_xblock`` itself: the rest of the package stays usable without Django.
"""
