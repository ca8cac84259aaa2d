"""Receivers for the openedx-events signals the plugin app connects (see ``apps.ForwarderConfig``)."""

from __future__ import annotations

from mentornet_xblock.forwarder import dispatch


def forward_course_passing_status(course_passing_status=None, metadata=None, **kwargs) -> None:
    """COURSE_PASSING_STATUS_UPDATED: only a pass matters; a later fail never takes a membership away."""
    if course_passing_status is None or metadata is None or not course_passing_status.is_passing:
        return
    dispatch.forward(course_passing_status, metadata)


def forward_certificate_created(certificate=None, metadata=None, **kwargs) -> None:
    """CERTIFICATE_CREATED: Open edX sends it only for passing certificate statuses."""
    if certificate is None or metadata is None:
        return
    dispatch.forward(certificate, metadata)
