"""What the flows load once per run: the rulebook, the escalation policy, the directories, channels."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.escalation import EscalationPolicy
from domain.regions import RegionDirectory
from domain.responders import ResponderDirectory
from integrations.settings import Settings


@dataclass
class RoutingContext:
    """Policy and directories used to route warnings; loaded from the files named in settings."""

    policy: EscalationPolicy
    directory: ResponderDirectory
    regions: RegionDirectory
    links: bool = True

    @classmethod
    def load(cls, settings: Settings) -> RoutingContext:
        """Read escalation.yaml, the responders directory and the region directory."""
        return cls(
            policy=EscalationPolicy.load(settings.escalation),
            directory=ResponderDirectory.load(settings.responders),
            regions=RegionDirectory.load(settings.regions),
            links=settings.action_links,
        )

    def router(self, now: datetime) -> Any:
        """A router for ``apply_changes``: routes opened and raised warnings in the same transaction."""
        from integrations.notify.render import action_links
        from integrations.store.routing import make_router

        return make_router(policy=self.policy, directory=self.directory, regions=self.regions, now=now,
                           links=action_links if self.links else None)
