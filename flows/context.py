"""What the flows load once per run: the rulebook, the escalation policy, the directories, channels."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from domain.escalation import EscalationPolicy
from domain.regions import RegionDirectory
from domain.responders import ResponderDirectory
from integrations.delivery import Reminders
from integrations.notify.templates import MessageTemplates, templates_for
from integrations.policy import load_policy
from integrations.route import LinkMaker, Routing
from integrations.settings import Settings
from integrations.store.models import WarningRow
from rules.language.model import Rule


@dataclass
class RoutingContext:
    """Policy and directories used to route warnings; loaded from the files named in settings."""

    policy: EscalationPolicy
    directory: ResponderDirectory
    regions: RegionDirectory
    links: bool = True
    templates: MessageTemplates | None = None

    @classmethod
    def load(cls, settings: Settings, rules: Sequence[Rule] = ()) -> RoutingContext:
        """Read escalation.yaml, the responders directory, the region directory and the message templates
        (``TemplateFileError``, one ``FILE:LINE`` line per problem, if a template is wrong). The policy is
        :func:`integrations.policy.load_policy`'s: the declared one with the default inhibitions of the
        cluster rules of ``rules`` (a rulebook the caller holds) or else of the settings' rulebook; the
        warnings opened with it pin them."""
        return cls(
            policy=load_policy(settings, rules or None),
            directory=ResponderDirectory.load(settings.responders),
            regions=RegionDirectory.load(settings.regions),
            links=settings.action_links,
            templates=templates_for(settings),
        )

    def link_maker(self) -> LinkMaker | None:
        """The signed one-click links for each recipient, when the settings turn them on."""
        from integrations.notify.render import action_links

        return action_links if self.links else None

    def routing(self, categories: Callable[[WarningRow], Iterable[str]] | None = None) -> Routing:
        """What ``integrations.route`` needs to route warnings: the policy, the directories, and the signed
        one-click links when the settings turn them on."""
        return Routing(policy=self.policy, directory=self.directory, regions=self.regions,
                       links=self.link_maker(), categories=categories,
                       templates=self.templates)


def reminders_for(settings: Settings, context: RoutingContext) -> Reminders:
    """When the authors of long silences are reminded of their end (from settings)."""
    from datetime import timedelta

    return Reminders(directory=context.directory, long=timedelta(hours=settings.silence_remind_long_hours),
                     before=timedelta(hours=settings.silence_remind_before_hours))
