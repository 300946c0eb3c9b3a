"""Pages of up to 1,000 records (default 100): ``?page=N&page_size=M``."""

from rest_framework.pagination import PageNumberPagination


class RegistryPagination(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000
