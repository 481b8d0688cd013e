"""Where the engine hands pending work after commit.

``RQWorkQueue`` puts a job on Redis for ``onewindow worker``. ``InProcessWorkQueue`` is
the embedded default: one background thread runs the same job function, so no Redis
server is needed. Neither is the record of the work: the application row is, and the
reconciler re-sends whatever a lost job or a dead worker left pending.
"""
from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry

QUEUE_NAME = "onewindow"
ADVANCE_JOB = "worker.jobs.advance_application"
log = logging.getLogger(__name__)


class RQWorkQueue:
    def __init__(self, redis: Redis) -> None:
        self.queue = Queue(QUEUE_NAME, connection=redis)

    def enqueue_advance(self, application_id: int) -> None:
        """Send the job; with Redis down, full (OOM) or answering errors, the application
        stays pending and the reconciler sends it once Redis is back (logged, not lost):
        the application is committed, so its submitter never gets a 500 for this."""
        try:
            self.queue.enqueue(ADVANCE_JOB, application_id, retry=Retry(max=3, interval=[5, 30, 120]),
                               job_timeout=300, result_ttl=600, failure_ttl=7 * 86400)
        except RedisError as exc:
            log.warning("application %s left pending for the reconciler: Redis refused the job (%s: %s)",
                        application_id, type(exc).__name__, exc)


class InProcessWorkQueue:
    def __init__(self, advance: Callable[[int], object] | None = None) -> None:
        self.advance = advance
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="onewindow-work")

    def enqueue_advance(self, application_id: int) -> None:
        if self.advance is None:
            raise RuntimeError("InProcessWorkQueue has no engine yet")
        self._pool.submit(self.advance, application_id).add_done_callback(_log_failure)

    def drain(self) -> None:
        """Wait for queued work (tests and shutdown)."""
        self._pool.submit(lambda: None).result()


def _log_failure(future: Future) -> None:
    exc = future.exception()
    if exc is not None:
        log.error("in-process job failed; the reconciler will retry it", exc_info=exc)
