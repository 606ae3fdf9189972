"""The one-write conveniences every store offers: each is one unit of work."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from contextlib import AbstractContextManager

from flagramp.core.flags import Flag, Segment
from flagramp.store.port import DEFAULT_ENVIRONMENT, Author, FlagChange, UnitOfWork


class SingleWrites(ABC):
    """`store.create_flag(flag, author)` and friends, over `unit_of_work`."""

    @abstractmethod
    def unit_of_work(self, author: Author) -> AbstractContextManager[UnitOfWork]: ...

    def can_share_users(self, environment: str = DEFAULT_ENVIRONMENT) -> bool:
        return True  # flagramp evaluates the bucketing key itself

    def create_flag(
        self, flag: Flag, author: Author, environment: str = DEFAULT_ENVIRONMENT
    ) -> Flag:
        with self.unit_of_work(author) as unit:
            return unit.create_flag(flag, environment)

    def change_flag(
        self,
        key: str,
        change: FlagChange,
        author: Author,
        environment: str = DEFAULT_ENVIRONMENT,
        action: str = "update",
    ) -> Flag:
        with self.unit_of_work(author) as unit:
            return unit.change_flag(key, change, environment, action)

    def delete_flag(
        self, key: str, author: Author, environment: str = DEFAULT_ENVIRONMENT
    ) -> None:
        with self.unit_of_work(author) as unit:
            unit.delete_flag(key, environment)

    def put_flags(
        self,
        incoming: Iterable[Flag],
        author: Author,
        environment: str = DEFAULT_ENVIRONMENT,
        *,
        remove_missing: bool = False,
    ) -> int:
        with self.unit_of_work(author) as unit:
            return unit.put_flags(incoming, environment, remove_missing=remove_missing)

    def put_segment(
        self, segment: Segment, author: Author, environment: str = DEFAULT_ENVIRONMENT
    ) -> Segment:
        with self.unit_of_work(author) as unit:
            return unit.put_segment(segment, environment)

    def delete_segment(
        self, name: str, author: Author, environment: str = DEFAULT_ENVIRONMENT
    ) -> None:
        with self.unit_of_work(author) as unit:
            unit.delete_segment(name, environment)
