"""What a hold planning run did, and the words the user reads: the run's summary and each hold's text."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import tzinfo

from syncd.cold import ContactStatus
from syncd.models import Contact
from syncd.planner import NewHold, Plan


@dataclass
class HoldOutcome:
    blocked: str | None = None
    plan: Plan | None = None
    created: list[NewHold] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    user_deleted: list[str] = field(default_factory=list)
    user_moved: list[str] = field(default_factory=list)
    dry_run: bool = False
    names: dict[str, str] = field(default_factory=dict)
    sink_failed: bool = False

    @property
    def failed(self) -> bool:
        """The hold calendar could not be read or written: worth exit code 1."""
        return self.sink_failed or bool(self.errors)

    @property
    def changed(self) -> bool:
        return bool(self.plan and (self.plan.create or self.plan.remove)) or bool(self.user_deleted or self.errors)

    def summary(self, tz: tzinfo) -> str:
        if self.blocked:
            return f"no holds booked: {self.blocked}"
        assert self.plan is not None
        book, remove = ("would book", "would remove") if self.dry_run else ("booked", "removed")
        # A real run names only what the calendar took; a failed booking is an error line below.
        booking = self.plan.create if self.dry_run else self.created
        lines = [f"{book} {len(booking)} hold(s), {remove} {len(self.plan.remove)}"]
        for hold in booking:
            start, end = hold.start.astimezone(tz), hold.end.astimezone(tz)
            lines.append(f"  + {start:%a %Y-%m-%d %H:%M}–{end:%H:%M}  {hold.name}  ({hold.reason})")
        for removal in self.plan.remove:
            start = removal.hold.start.astimezone(tz)
            lines.append(f"  - {start:%a %Y-%m-%d %H:%M}  {self._name(removal.hold.contact_id)}  ({removal.reason})")
        for skip in self.plan.skipped:
            lines.append(f"  · {self._name(skip.contact_id)}: {skip.reason}")
        for contact_id in self.user_deleted:
            lines.append(f"  · {self._name(contact_id)}: you deleted their hold, snoozed for a cadence")
        for error in self.errors:
            lines.append(f"  ! {error}")
        return "\n".join(lines)

    def _name(self, contact_id: str) -> str:
        return self.names.get(contact_id, contact_id)


def hold_text(
    title_template: str, default_tier: str, contact: Contact, status: ContactStatus, tz: tzinfo
) -> tuple[str, str]:
    """Title from the template; the description says when and how you last spoke."""
    title = title_template.format_map({"name": contact.name, "first_name": contact.first_name})
    touch = status.last_touch
    if touch is None:
        last = "You have no meeting or direct mail with them on record."
    else:
        how = {"meeting": "met", "email": "exchanged mail", "manual": "were in touch (logged by hand)"}[touch.kind]
        last = f"You last {how} on {touch.at.astimezone(tz):%A %Y-%m-%d}."
    tier = contact.tier or default_tier
    lines = [
        f"Time to reach out to {contact.name} <{contact.email}>.",
        last,
        f"Rhythm: {tier}, every {status.cadence_days} days.",
    ]
    if contact.notes:
        lines.append(f"Notes: {contact.notes}")
    lines.append("Booked by syncd; delete this event and syncd will not nag about them for a while.")
    return title, "\n".join(lines)
