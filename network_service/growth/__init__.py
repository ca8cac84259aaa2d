"""Joining and starting networks, partner organisations, and the promotion kit (docs/guide-organisations.md)."""
