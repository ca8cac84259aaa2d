"""MOOC courses linked to networks, and the completion events that turn graduates into invitees."""
