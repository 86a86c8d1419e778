"""Data side of the Activity dashboard: blocking reads and decisions for one user.

``ActivitySource`` goes through the activity parts (event log, cached pages, requests), so
every rule (visibility, who may decide) is the service's; the Viewer (``activity_view``) runs
these calls in a thread under ``panel serve`` and inline in a notebook or a test.
"""

from __future__ import annotations

from ..activity.schemas import DecisionIn, EventFilter, EventOut
from ..compose import ActivityParts
from ..core.identity import User


class ActivitySource:
    """Blocking data access for one user; every rule is the service's."""

    def __init__(self, activity: ActivityParts, user: User, *, max_rows: int = 1000) -> None:
        self.activity = activity
        self.user = user
        self.max_rows = max_rows

    def object_types(self) -> frozenset[str]:
        """Every object type the log knows (the filter's choices)."""
        return self.activity.events.object_types

    def recent(self) -> list[EventOut]:
        """The newest ``max_rows`` events visible to the user (by feed cursor)."""
        since = max(0, self.activity.events.latest_seq() - 4 * self.max_rows)
        events: list[EventOut] = []
        while True:
            page = self.activity.pages.list_events(self.user, EventFilter(since=since, limit=1000))
            events = (events + page)[-self.max_rows:]
            if len(page) < 1000:
                return events
            since = page[-1].seq

    def project_names(self, project_ids: set[int]) -> dict[int, str]:
        """``{id: name}`` of the projects the events mention (for people, not ids)."""
        return {pid: name for pid, (name, _) in self.activity.projects.names(project_ids).items()}

    def pending_ids(self) -> set[str]:
        """Ids of the pending requests this user may decide."""
        return {ev.id for ev in self.activity.requests.pending_requests(self.user)}

    def decide(self, event_id: str, decision: str, message: str) -> EventOut:
        """Approve or deny a request (the service checks the user may)."""
        choice = DecisionIn.model_validate({"decision": decision, "message": message})
        return self.activity.requests.decide(self.user, event_id, choice)
