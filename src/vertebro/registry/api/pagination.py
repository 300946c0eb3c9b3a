"""Keyset pages of up to 1,000 records (default 100): ``?page_size=M``, then follow ``next``.

A page is the records after the last one of the previous page in id order (``WHERE id > last ORDER BY
id LIMIT M``), named by an opaque ``cursor`` in the ``next`` and ``previous`` links. Unlike numbered
pages this costs the same for the thousandth page as for the first (no ``OFFSET`` to skip, no ``COUNT``
of every row per request), and a record created while a client pages through is neither skipped nor
shown twice. There is therefore no ``count``: a client pages until ``next`` is null.
"""

from rest_framework.pagination import CursorPagination


class RegistryPagination(CursorPagination):
    ordering = "pk"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class NewestFirstPagination(RegistryPagination):
    """For lists people read from the newest (imports)."""

    ordering = "-pk"
