"""Outgoing e-mail: written to an outbox in the transaction that causes it, then delivered and retried."""
