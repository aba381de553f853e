"""Template filters for the dashboard: short ages ("12 s", "3 min", "2 h 5 min") where Django's timesince says
"0 minutes" for anything under a minute, which is most of what an operator watches."""

from __future__ import annotations

import datetime

from django import template

register = template.Library()


@register.filter
def duration(delta: datetime.timedelta | None) -> str:
    if delta is None:
        return ""
    seconds = max(int(delta.total_seconds()), 0)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} d {seconds % 86400 // 3600} h"


@register.filter
def ago(when: datetime.datetime | None, now: datetime.datetime) -> str:
    """`3 s ago`, or `in 3 s` for an instant still to come (a heartbeat is dated at its lease's renewal)."""
    if when is None:
        return ""
    return f"{duration(now - when)} ago" if when <= now else f"in {duration(when - now)}"
