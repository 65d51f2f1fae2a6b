"""The states of an outbox row (one definition for the writers and the delivery sweep)."""

PENDING, SENT, DEAD = "pending", "sent", "dead"
"""``pending``: to send (now or after its backoff); ``sent``: delivered; ``dead``: given up until retried."""
