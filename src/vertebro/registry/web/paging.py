"""Pages of a list whose total may be counted elsewhere — or not at all.

Django's ``Paginator`` counts the whole list on every page. The worklist counts from its kept items,
the patients list from a cached count, and a search does not count (that would be a second scan of
every name): it only knows whether a next page exists.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass


def page_number(value: str | None) -> int:
    """The page asked for: a positive whole number, else 1."""
    return int(value) if value and value.isascii() and value.isdigit() and int(value) > 0 else 1


@dataclass(frozen=True)
class ListPage:
    """One page.

    Attributes
    ----------
    object_list : list
    number : int
        1-based.
    per_page : int
    total : int or None
        Items over all pages; None when not counted.
    more : bool
        A next page exists.
    """

    object_list: list
    number: int
    per_page: int
    total: int | None
    more: bool

    def __iter__(self) -> Iterator:
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)

    @property
    def num_pages(self) -> int | None:
        return None if self.total is None else max(1, math.ceil(self.total / self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.more

    @property
    def has_other_pages(self) -> bool:
        return self.has_previous or self.has_next

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1


def last_page(total: int, per_page: int) -> int:
    return max(1, math.ceil(total / per_page))
