"""iCalendar feeds shared by every domain that publishes one (calendar now; planner and Ocat).

A calendar client (Thunderbird, Google, Outlook) cannot log in to Jupyter, and a Jupyter token
must never end up in a calendar URL. Each user may hold one *feed token* (``tokens.ICalTokens``)
that reads every iCal feed of the product and nothing else. ``handlers.IcsHandler`` is the
base of every ``.ics`` route: it accepts that token or the Jupyter login, and adds HTTP caching
(``ETag``/304) to a rendered ``feed.Feed``.
"""
