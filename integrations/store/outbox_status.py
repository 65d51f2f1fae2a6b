"""The states of an outbox row (one definition for the writers and the delivery sweep)."""

PENDING, SENT, DEAD = "pending", "sent", "dead"
"""``pending``: to send (now or after its backoff); ``sent``: delivered; ``dead``: given up until retried."""

SILENCED, NOT_NEEDED = "silenced", "not_needed"
"""``silenced``: held by a silence (never sent while held); ``not_needed``: was held, and the warning was
resolved before the hold ended, so it was never sent."""

HELD = "held"
"""Held by an inhibition: an open source warning (a cluster) covers this one; released when it resolves."""
