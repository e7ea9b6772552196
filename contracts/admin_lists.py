"""Changelists that cost the same at any table size (issue 16).

- **Counting**: an unfiltered page of a large table shows PostgreSQL's own estimate of its
  rows (``pg_class.reltuples``, kept by autovacuum and ``ANALYZE``) instead of counting
  millions of rows on every page, and says so on the page (約 N 件（概算）). A filtered or
  searched page, a small table (fewer rows than ``ADMIN_ESTIMATED_COUNT_FROM``, default
  10,000) and SQLite are counted exactly. Either way it is one query.
- **Searching**: codes and numbers match by prefix, case-insensitive (``UPPER(code) LIKE
  'SK0001%'``), which PostgreSQL answers from the ``text_pattern_ops`` indexes of
  ``contracts`` 0005 and ``billing`` 0017; names match anywhere, from the ``pg_trgm``
  indexes there. A related model's codes (the contract of an account) are looked up first, so
  that the page's own query is ``contract_id IN (…) OR UPPER(account_id) LIKE …``: two
  index scans, never a scan of the table through a join.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Q
from django.utils.functional import cached_property
from django.utils.text import smart_split, unescape_string_literal

#: more related rows than this matching one search word: matched by a subquery instead of ids
RELATED_IDS_LIMIT = 1000


def estimate_from() -> int:
    return getattr(settings, "ADMIN_ESTIMATED_COUNT_FROM", 10_000)


class EstimatedCountPaginator(Paginator):
    """Counts an unfiltered queryset from the planner's statistics when the table is large
    (``estimated`` is then true, for the page to say so); counts exactly otherwise."""

    estimated = False

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        query = queryset.query
        connection = connections[queryset.db]
        if connection.vendor != "postgresql" or query.where or query.distinct or query.group_by:
            return super().count
        table = connection.ops.quote_name(queryset.model._meta.db_table)
        with connection.cursor() as cursor:
            # one query whatever the size: the exact count is only run (in the ELSE) when
            # the statistics say the table is small or was never analysed (reltuples < 0)
            cursor.execute(
                f"SELECT CASE WHEN c.reltuples >= %s THEN c.reltuples::bigint "
                f"ELSE (SELECT count(*) FROM {table}) END, c.reltuples >= %s "
                f"FROM pg_class c WHERE c.oid = %s::regclass",
                [estimate_from(), estimate_from(), queryset.model._meta.db_table],
            )
            count, self.estimated = cursor.fetchone()
        return count

    @property
    def count_display(self) -> str:
        return f"{self.count:,}"


def search_terms(search_term: str) -> list[str]:
    """The words of a search as the admin splits them (quotes keep spaces)."""
    terms = []
    for bit in smart_split(search_term):
        if bit.startswith(('"', "'")) and bit[0] == bit[-1]:
            bit = unescape_string_literal(bit)
        if bit:
            terms.append(bit)
    return terms


def _matching(prefix: tuple[str, ...], contains: tuple[str, ...], term: str) -> Q:
    condition = Q()
    for field in prefix:
        condition |= Q(**{f"{field}__istartswith": term})
    for field in contains:
        condition |= Q(**{f"{field}__icontains": term})
    return condition


class IndexedSearchAdmin(admin.ModelAdmin):
    """Search by indexed lookups only. Each word must match (as in the admin's own search):
    a field of ``search_prefix`` by its start, a field of ``search_contains`` anywhere, or
    the related row named in ``search_related`` (``{"contract": (("code",), ())}``: its
    prefix and contains fields). ``search_fields`` only switches the search box on."""

    search_prefix: tuple[str, ...] = ()
    search_contains: tuple[str, ...] = ()
    search_related: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}

    def get_search_results(self, request, queryset, search_term):
        for term in search_terms(search_term):
            condition = _matching(self.search_prefix, self.search_contains, term)
            for relation, (prefix, contains) in self.search_related.items():
                related = self.model._meta.get_field(relation).related_model._default_manager
                matching = related.filter(_matching(prefix, contains, term)).order_by()
                ids = list(matching.values_list("pk", flat=True)[: RELATED_IDS_LIMIT + 1])
                if len(ids) > RELATED_IDS_LIMIT:
                    condition |= Q(**{f"{relation}__in": matching.values("pk")})
                elif ids:
                    condition |= Q(**{f"{relation}__in": ids})
            queryset = queryset.filter(condition) if condition else queryset.none()
        return queryset, False


class EstimatedCountAdmin(admin.ModelAdmin):
    """A large table's unfiltered changelist counted from the statistics (said on the page:
    ``templates/admin/<app>/pagination.html``)."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False
