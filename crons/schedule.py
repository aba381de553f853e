"""Cron expressions (croniter: 5 fields, or 6 with seconds last) and IANA timezones; pure functions, no I/O."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from agentplatform.errors import InvalidInput


def validate_schedule(schedule: str) -> str:
    if not isinstance(schedule, str) or not croniter.is_valid(schedule):
        raise InvalidInput(
            f"Invalid cron schedule: '{schedule}'. Reason: Invalid cron schedule. Ensure the schedule uses the "
            "standard cron format (minute hour day_of_month month day_of_week). "
            "Example: '*/5 * * * *' for every 5 minutes."
        )
    return schedule


def validate_timezone(timezone: str | None) -> str | None:
    if timezone is None:
        return None
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise InvalidInput(
            f"Invalid timezone: '{timezone}'. Use IANA timezone format (e.g. 'America/New_York')."
        ) from None
    return timezone


def next_cron_date(schedule: str, after: datetime.datetime, timezone: str | None = None) -> datetime.datetime:
    """The first firing strictly after `after`, computed in the cron's timezone (DST-aware), returned in UTC."""
    base = after.astimezone(ZoneInfo(timezone)) if timezone else after.astimezone(datetime.UTC)
    return croniter(schedule, base).get_next(datetime.datetime).astimezone(datetime.UTC)
