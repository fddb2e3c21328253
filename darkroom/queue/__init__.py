"""Job queue port and its adapters: the jobs table itself (default) or a Redis Streams
broker, chosen by DARKROOM_BROKER_URL."""

from darkroom.config import Settings
from darkroom.queue.base import JobQueue
from darkroom.queue.database import DatabaseQueue
from darkroom.queue.redis_streams import RedisStreamQueue
from darkroom.store import JobStore


def open_queue(settings: Settings, store: JobStore, consumer: str) -> JobQueue:
    """The queue ``settings`` name; ``consumer`` identifies this process to a broker."""
    if settings.broker_url is None:
        return DatabaseQueue(store)
    if settings.broker_url.startswith(("redis://", "rediss://", "unix://")):
        return RedisStreamQueue(
            store,
            settings.broker_url,
            stream=settings.broker_stream,
            consumer=consumer,
            poll_interval_s=settings.poll_interval_s,
        )
    raise ValueError(f"unsupported DARKROOM_BROKER_URL {settings.broker_url!r} (redis://...)")


__all__ = ["DatabaseQueue", "JobQueue", "RedisStreamQueue", "open_queue"]
