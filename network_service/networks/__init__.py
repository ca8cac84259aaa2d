"""Organisations, networks, memberships and roles, agreements, invitations."""
