"""Notifications: in-app, and e-mail as each member chooses (immediately, daily or weekly digest, never)."""
