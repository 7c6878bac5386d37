"""When a scheduled subscription is due to send."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from celery.schedules import crontab
from django.utils import timezone

from mdm.publishing.models import Subscription

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def is_due(subscription: Subscription, now: datetime) -> bool:
    """Whether the subscription's mode says it should send now."""
    mode, last = subscription.mode, subscription.last_sent_at
    if subscription.transport != Subscription.Transport.WEBHOOK or mode == "manual":
        return False
    if mode == Subscription.Mode.REALTIME:
        return True
    if mode == Subscription.Mode.INTERVAL:
        return last is None or last + timedelta(minutes=subscription.interval_minutes) <= now
    if mode == Subscription.Mode.DAILY and subscription.daily_at:
        local = timezone.localtime(now)
        slot = local.replace(hour=subscription.daily_at.hour, minute=subscription.daily_at.minute,
                             second=0, microsecond=0)
        return local >= slot and (last is None or last < slot)
    if mode == Subscription.Mode.CRON and subscription.cron:
        schedule = cron_schedule(subscription.cron)
        return schedule.is_due(last or EPOCH).is_due
    return False


def cron_schedule(expression: str) -> crontab:
    """A five-field cron expression (minute hour day-of-month month day-of-week)."""
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"'{expression}' needs 5 fields: minute hour day month weekday")
    minute, hour, day_of_month, month, day_of_week = fields
    return crontab(minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month,
                   day_of_week=day_of_week, nowfun=timezone.now)
