"""Audit log of privileged actions: who did what to whom, when."""
