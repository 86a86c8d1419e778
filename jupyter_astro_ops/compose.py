"""The composition root: the one place that builds every long-lived part.

``build_services(parent, db, roles=..., root_dir=...)`` builds each part exactly once, hands
every part the collaborators it declares (as Protocols) in its constructor, and returns them in
one typed, frozen ``Services``. The Jupyter server extension (``app.py``), the dashboard
process (``dashboards/context.py``), the command line and the demo all call it; nothing else
constructs a service. ``parent`` is any traitlets ``Configurable`` carrying the config, so
``c.StagingService.roots``, ``c.RequestWorker.lease_seconds`` etc. apply wherever the parts are
built; ``c.Wiring.*_class`` swaps a part's class (plug-ins, test doubles).

``Services.start(background=...)`` starts the live feed, and, where background work runs, the
request worker, the staging runner, the periodic LCO import, the planner's directory
re-sync and imports (when configured), and Ocat's mail sender, reminders and catalog import;
``stop()`` undoes it.
How the parts depend on each other (arrows: "is handed")::

    EventLog <- Projects <- Requests <- RequestWorker        FeedHub <- EventPages
    EventLog <- RemoteChanges (wakes the log's listeners after other processes' commits)
       ^            ^
       |            +-------------------------------+
    JobStore <- StagingService <- Runner, Browser   |
                StagingService.starter = Runner (a job created here starts in a free slot)
    CopyWorkers <- Runner (worker processes for small files)
    ReservationWriter, ReservationIndex (EventLog, FeedHub) <- CalendarService <- ICalFeeds,
                                                            CalendarCompat, LcoImporter
    EntryWriter, PlannerHolidays <- PlannerService <- PlannerEmployees, PlannerImporter,
                                                      PlannerSwaps, PlannerFeeds
    Mailer, OcatRota <- OcatNotifier <- OcatService (+ OcatWriter) <- OcatImporter, RotaFeed
    kernel manager, server event bus <- KernelTokenStore (Jupyter's parts, handed in)
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from traitlets import Type
from traitlets.config import Configurable, LoggingConfigurable

from .activity.events import EventLog
from .activity.feed import FeedHub
from .activity.pagecache import EventPages
from .activity.projects import Projects
from .activity.remote import RemoteChanges
from .activity.requests import Requests
from .activity.worker import RequestWorker
from .calendar.compat import CalendarCompat
from .calendar.ical import ICalFeeds
from .calendar.index import ReservationIndex
from .calendar.lco.importer import LcoImporter
from .calendar.service import CalendarService
from .calendar.writes import ReservationWriter
from .core.db import Database
from .core.identity import RoleMap
from .ical.tokens import ICalTokens
from .lab.kernel_tokens import EventBus, KernelRegistry, KernelTokenStore
from .mail.sender import Mailer
from .ocat.ical import RotaFeed
from .ocat.importer import OcatImporter
from .ocat.notify import OcatNotifier
from .ocat.rota import OcatRota
from .ocat.service import OcatService
from .ocat.writes import OcatWriter
from .planner.employees import PlannerEmployees
from .planner.holidays import PlannerHolidays
from .planner.ical import PlannerFeeds
from .planner.importers import PlannerImporter
from .planner.service import PlannerService
from .planner.swaps import PlannerSwaps
from .planner.writes import EntryWriter
from .staging.browse import Browser
from .staging.jobstore import JobStore
from .staging.runner import Runner
from .staging.service import StagingService
from .staging.workers import CopyWorkers


class Wiring(LoggingConfigurable):
    """Which classes the composition root builds (``c.Wiring.*``)."""

    requests_class = Type(Requests, klass=Requests, config=True,
                          help="Class of the activity requests part (project requests).")
    staging_service_class = Type(StagingService, klass=StagingService, config=True,
                                 help="Class of the staging service.")
    calendar_service_class = Type(CalendarService, klass=CalendarService, config=True,
                                  help="Class of the calendar service.")
    lco_importer_class = Type(LcoImporter, klass=LcoImporter, config=True,
                              help="Class of the LCO schedule importer.")


@dataclass(frozen=True)
class ActivityParts:
    """The activity domain: the event log every domain writes to, and what reads it."""

    events: EventLog
    projects: Projects
    requests: Requests
    worker: RequestWorker
    feed: FeedHub
    pages: EventPages
    remote: RemoteChanges


@dataclass(frozen=True)
class StagingParts:
    """Data staging: the job API, the read side (browse, download) and the job runner."""

    service: StagingService
    browser: Browser
    runner: Runner


@dataclass(frozen=True)
class CalendarParts:
    """Reservations: the service, its one write path, the importer, feeds and compat API."""

    service: CalendarService
    writer: ReservationWriter
    index: ReservationIndex
    importer: LcoImporter
    ical: ICalFeeds
    compat: CalendarCompat


@dataclass(frozen=True)
class OcatParts:
    """Ocat sign-off: the service, its write path, the rota, mail, the catalog importer.

    ``mailer`` is the shared outbox/SMTP sender (``mail``); it lives here until a second
    domain sends mail.
    """

    service: OcatService
    writer: OcatWriter
    rota: OcatRota
    rota_feed: RotaFeed
    notifier: OcatNotifier
    importer: OcatImporter
    mailer: Mailer

    async def start(self, background: bool) -> None:
        """The mail sender, reminders and periodic catalog import (background only)."""
        if not background:
            return
        await asyncio.to_thread(self.rota.ensure_horizon)
        await self.mailer.loop.start()
        await self.notifier.loop.start()
        if self.importer.periodic:
            await self.importer.loop.start()

    async def stop(self) -> None:
        await self.importer.loop.stop()
        await self.notifier.loop.stop()
        await self.mailer.loop.stop()


@dataclass(frozen=True)
class PlannerParts:
    """People planner: the service, its one entry write path, employees, holidays, imports,
    swaps and iCal feeds."""

    service: PlannerService
    writer: EntryWriter
    employees: PlannerEmployees
    holidays: PlannerHolidays
    importer: PlannerImporter
    swaps: PlannerSwaps
    ical: PlannerFeeds


@dataclass(frozen=True)
class Services:
    """Every long-lived part of one process, built by ``build_services``."""

    db: Database
    roles: RoleMap
    ical_tokens: ICalTokens
    activity: ActivityParts
    staging: StagingParts
    calendar: CalendarParts
    kernel_tokens: KernelTokenStore
    planner: PlannerParts
    ocat: OcatParts

    async def start(self, background: bool = True, feed: bool = True) -> None:
        """Start the live feed (unless ``feed`` is false: a process without websockets) and
        the kernel-token revocation; with ``background``, also the worker, runner and imports.
        The cross-process watcher starts first: other processes' commits wake every listener."""
        self.activity.remote.start()
        if feed:
            await self.activity.feed.start()
            await self.calendar.index.start()  # rebuilds in a thread; kept current by the feed
        await self.kernel_tokens.start()
        await asyncio.to_thread(self.calendar.service.ensure_sites)
        if not background:
            return
        if self.activity.worker.enabled:
            await self.activity.worker.start()
        await self.staging.runner.start()
        if self.calendar.importer.periodic:
            await self.calendar.importer.loop.start()
        # planner: directory re-sync first (imports need the people), then the imports
        if self.planner.employees.periodic:
            await self.planner.employees.loop.start()
        if self.planner.importer.periodic:
            await self.planner.importer.loop.start()
        await self.ocat.start(background)

    async def stop(self) -> None:
        """Stop whatever ``start`` started (each loop finishes its current round)."""
        await self.ocat.stop()
        await self.planner.importer.loop.stop()
        await self.planner.employees.loop.stop()
        await self.calendar.importer.loop.stop()
        await self.staging.runner.stop()
        await self.activity.worker.stop()
        await self.calendar.index.stop()
        await self.activity.feed.stop()
        await self.kernel_tokens.stop()
        await asyncio.to_thread(self.activity.remote.stop)


def build_services(parent: Configurable, db: Database, *,
                   roles: Mapping[str, Any] | RoleMap | None = None,
                   root_dir: str | None = "", kernels: KernelRegistry | None = None,
                   kernel_events: EventBus | None = None) -> Services:
    """Build every part once. ``root_dir`` is the working directory staging writes into (""
    for the current directory); ``None`` for the JupyterHub worker, which runs the jobs of
    every user's home (``c.JobStore.home_template``). ``kernels`` and ``kernel_events`` are
    the Jupyter server's kernel manager and event bus (kernel tokens die with their kernel)."""
    wiring = Wiring(parent=parent)
    role_map = roles if isinstance(roles, RoleMap) else RoleMap(dict(roles or {}))
    return Services(
        db=db, roles=role_map, ical_tokens=ICalTokens(db),
        activity=(activity := _activity(parent, wiring, db)),
        staging=_staging(parent, wiring, db, activity.events,
                         None if root_dir is None else root_dir or os.getcwd()),
        calendar=_calendar(parent, wiring, db, activity),
        kernel_tokens=KernelTokenStore(kernels, kernel_events, parent=parent),
        planner=_planner(parent, db, activity),
        ocat=_ocat(parent, db, activity, role_map),
    )


def _activity(parent: Configurable, wiring: Wiring, db: Database) -> ActivityParts:
    events = EventLog(db)
    projects = Projects(db, events)
    requests = wiring.requests_class(db, events, projects)
    feed = FeedHub(events, parent=parent)
    return ActivityParts(
        events=events, projects=projects, requests=requests,
        worker=RequestWorker(db, events, requests, parent=parent), feed=feed,
        pages=EventPages(events, feed),
        remote=RemoteChanges(events, events.origin, parent=parent))


def _staging(parent: Configurable, wiring: Wiring, db: Database, events: EventLog,
             root_dir: str | None) -> StagingParts:
    store = JobStore(db, events, root_dir, parent=parent)
    service = wiring.staging_service_class(db, events, store, parent=parent)
    runner = Runner(store, service, events, max_jobs=service.max_concurrent_jobs,
                    max_files=service.max_files_in_flight, poll_interval=service.poll_interval,
                    log=service.log, nice=service.worker_nice,
                    copier=CopyWorkers(nice=service.worker_nice, parent=parent))
    service.starter = runner
    browser = Browser(service.storage, service.compat_methods)
    return StagingParts(service=service, browser=browser, runner=runner)


def _calendar(parent: Configurable, wiring: Wiring, db: Database,
              activity: ActivityParts) -> CalendarParts:
    writer = ReservationWriter(activity.events)
    index = ReservationIndex(db, activity.events, activity.feed, parent=parent)
    service = wiring.calendar_service_class(db, activity.projects, writer, index, parent=parent)
    importer = wiring.lco_importer_class(db, activity.events, service, writer, parent=parent)
    return CalendarParts(service=service, writer=writer, index=index, importer=importer,
                         ical=ICalFeeds(service, parent=parent), compat=CalendarCompat(service))


def _planner(parent: Configurable, db: Database, activity: ActivityParts) -> PlannerParts:
    writer = EntryWriter(activity.events)
    holidays = PlannerHolidays(db, activity.events, parent=parent)
    service = PlannerService(db, writer, holidays, activity.events, parent=parent)
    return PlannerParts(
        service=service, writer=writer, holidays=holidays,
        employees=PlannerEmployees(db, activity.events, service, parent=parent),
        importer=PlannerImporter(db, activity.events, service, writer, parent=parent),
        swaps=PlannerSwaps(db, activity.events, service, writer, parent=parent),
        ical=PlannerFeeds(service, parent=parent))


def _ocat(parent: Configurable, db: Database, activity: ActivityParts,
          roles: RoleMap) -> OcatParts:
    mailer = Mailer(db, parent=parent)
    writer = OcatWriter(activity.events)
    rota = OcatRota(db, activity.events, parent=parent)
    # the notifier and importer read the catalog the service loaded (its config traits)
    notifier = OcatNotifier(db, mailer, roles, rota, catalog=lambda: service.catalog,
                            parent=parent)
    service = OcatService(db, activity.events, writer, notifier, activity.events, parent=parent)
    importer = OcatImporter(db, activity.events, writer, catalog=lambda: service.catalog,
                            parent=parent)
    return OcatParts(service=service, writer=writer, rota=rota, rota_feed=RotaFeed(
        rota, parent=parent), notifier=notifier, importer=importer, mailer=mailer)


__all__ = ["ActivityParts", "CalendarParts", "OcatParts", "PlannerParts", "Services",
           "StagingParts", "Wiring", "build_services"]
