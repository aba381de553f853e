"""Cron expressions and timezones: validation wording and next firing dates."""

import datetime

import pytest

from agentplatform.errors import InvalidInput
from crons.schedule import next_cron_date, validate_schedule, validate_timezone

UTC = datetime.UTC


@pytest.mark.parametrize("schedule", ["not a cron", "61 * * * *", "* * *", ""])
def test_invalid_schedule_is_refused_with_the_official_message(schedule):
    with pytest.raises(InvalidInput, match="Invalid cron schedule"):
        validate_schedule(schedule)


def test_five_and_six_field_schedules_are_valid():
    assert validate_schedule("*/5 * * * *") == "*/5 * * * *"
    assert validate_schedule("* * * * * */10") == "* * * * * */10"


def test_unknown_timezone_is_refused_and_none_means_utc():
    with pytest.raises(InvalidInput, match="Invalid timezone: 'Mars/Olympus'"):
        validate_timezone("Mars/Olympus")
    assert validate_timezone(None) is None


def test_next_date_is_strictly_after_and_in_utc():
    after = datetime.datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert next_cron_date("0 * * * *", after) == datetime.datetime(2026, 1, 1, 13, 0, tzinfo=UTC)
    assert next_cron_date("* * * * * */10", after) == datetime.datetime(2026, 1, 1, 12, 0, 10, tzinfo=UTC)


def test_next_date_follows_the_cron_timezone_across_dst():
    # 09:00 in New York is 14:00 UTC in winter and 13:00 UTC in summer.
    winter = datetime.datetime(2026, 1, 10, 0, 0, tzinfo=UTC)
    summer = datetime.datetime(2026, 7, 10, 0, 0, tzinfo=UTC)
    assert next_cron_date("0 9 * * *", winter, "America/New_York") == datetime.datetime(2026, 1, 10, 14, tzinfo=UTC)
    assert next_cron_date("0 9 * * *", summer, "America/New_York") == datetime.datetime(2026, 7, 10, 13, tzinfo=UTC)
