"""LISTEN for the store's change notifications on PostgreSQL.

Migration 0009 makes every statement that appends audit rows send
`NOTIFY "flagramp.<schema>", '<version>'`, delivered when its transaction
commits, whoever wrote (any replica, the CLI, the controller). Each replica
keeps one connection that listens on its schema's channel and wakes its
`ChangeHub`, which then reads the change feed. A lost connection is opened
again with backoff; on every (re)connect the hub is woken once, since a
notification sent while nobody listened is gone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

logger = logging.getLogger(__name__)

#: Seconds between reconnection attempts: doubling up to the last.
BACKOFF = (0.5, 1.0, 2.0, 5.0)


def channel(schema: str) -> str:
    """The channel a schema's changes are notified on."""
    return f"flagramp.{schema}"


def libpq_url(sqlalchemy_url: str) -> str:
    """A SQLAlchemy `postgresql+psycopg://…` URL as libpq reads it."""
    url = make_url(sqlalchemy_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


async def listen(sqlalchemy_url: str, wake: Callable[[], None]) -> None:
    """Call `wake` on every change notification, until cancelled."""
    attempt = 0
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(
                libpq_url(sqlalchemy_url), autocommit=True
            ) as conn:
                cursor = await conn.execute("SELECT current_schema()")
                row = await cursor.fetchone()
                schema = str(row[0]) if row else "public"
                await conn.execute(
                    sql.SQL("LISTEN {}").format(sql.Identifier(channel(schema)))
                )
                attempt = 0
                wake()
                async for _ in conn.notifies():
                    wake()
        except psycopg.Error as exc:
            delay = BACKOFF[min(attempt, len(BACKOFF) - 1)]
            attempt += 1
            logger.warning(
                "change notifications: %s; listening again in %.1f s",
                str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
                delay,
            )
            await asyncio.sleep(delay)
