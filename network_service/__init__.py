"""mentorNET network service: the system of record, its web UI and its JSON API."""

from network_service.app import MentorNet, create_app

__all__ = ["MentorNet", "create_app"]
