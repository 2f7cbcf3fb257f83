"""Every query the job lists make on the jobs table is served by an index, on SQLite and on
PostgreSQL: the API's list (as staff and as a client, with each filter, first page and a page
by cursor), the admin's lists, their filters and search. The queries are those the requests
really sent; their plans come from the database's EXPLAIN. Counts are bounded by a LIMIT.

PostgreSQL would still read (or sort) a table this small whole, so its plans are asked for with
sequential scans and sorts priced out: what is checked is that an index can serve the query in
its order, and which one.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from execution.models import Job, JobMode, JobStatus
from execution.pagination import JOB_COUNT_LIMIT
from tests.execution.test_admin import many_jobs

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.every_database,
    pytest.mark.usefixtures("synced_registry"),
]

JOBS = "/v1/analyze-execution/jobs"
ADMIN_JOBS, ADMIN_FAILED = "/admin/execution/job/", "/admin/execution/failedjob/"
DIGEST = "ab" * 32


@pytest.fixture
def table(user: Any, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Job:
    """A table whose filters are selective, as in a large one: many jobs of another client,
    SUCCESS, of another plugin, accepted over the past month in no order (so the date index
    is no shortcut in the planner's eyes either); a few of the client's and of nobody's, some
    FAILED, over several plugins; one to search. Pages of 10, so every list has a second page."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "PAGE_SIZE": 10}
    someone = get_user_model().objects.create_user("someone")
    monkeypatch.setattr(Job._meta.get_field("created_at"), "auto_now_add", False)
    rng, now = random.Random(5), timezone.now()
    Job.objects.bulk_create(
        Job(
            plugin="image-metadata",
            mode=JobMode.ASYNC,
            status=JobStatus.SUCCESS,
            created_by=someone,
            created_at=now - timedelta(days=30 * rng.random()),
            image_sha256=f"{n:064x}",  # every image its own, as most are
        )
        for n in range(2000)
    )
    monkeypatch.undo()
    many_jobs(120, created_by=user)
    many_jobs(120)
    sample = Job.objects.create(
        plugin="ocr", mode=JobMode.SYNC, status=JobStatus.FAILED, image_sha256=DIGEST
    )
    with connection.cursor() as cursor:
        # With statistics, as `PRAGMA optimize` or autovacuum would leave them: a small user
        # table once made SQLite sort every job for the admin's page (a join to the creators).
        cursor.execute("ANALYZE")
    return sample


def index_name(field: str) -> str:
    """The name Django gave a field's own index (``db_index=True``)."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Job._meta.db_table)
    column = Job._meta.get_field(field).column
    return next(
        name
        for name, constraint in constraints.items()
        if constraint["index"] and constraint["columns"] == [column]
    )


def job_queries(client: Any, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].startswith("SELECT") and '"execution_job"' in query["sql"]
    ]


@pytest.fixture
def plan() -> Iterator[Any]:
    def explain(sql: str, *, sorts: bool = False) -> str:
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
                return "\n".join(row[3] for row in cursor.fetchall())
            cursor.execute(f"SET enable_sort = {'on' if sorts else 'off'}")
            cursor.execute(f"EXPLAIN {sql}")
            return "\n".join(row[0] for row in cursor.fetchall())

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET enable_seqscan = off")
    yield explain
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("RESET enable_seqscan; RESET enable_sort")


def assert_served_by(plan: Any, queries: list[str], index: str, *, in_order: bool = True) -> None:
    """The page's query reads ``index`` (a pattern), in its order unless it finds a row or two by equality
    (``in_order=False``: the few found are sorted); the count, if any, reads the same index, no
    further than its LIMIT."""
    page = [sql for sql in queries if "COUNT(" not in sql]
    counts = [sql for sql in queries if "COUNT(" in sql]
    assert len(page) == 1, queries
    for sql in counts:
        assert f"LIMIT {JOB_COUNT_LIMIT + 1}" in sql, sql
    for sql in queries:
        found = plan(sql, sorts=not in_order)
        assert not re.search(r"^SCAN execution_job$|Seq Scan on execution_job", found, re.M), (
            sql,
            found,
        )
    for sql in [*page, *counts]:  # the count reads the page's index: the newest entries first
        found = plan(sql, sorts=not in_order)
        assert re.search(rf"\b({index})", found), (sql, found)
        # Incremental sorts (and SQLite's "right part") only break ties of the index's order.
        if in_order:
            sorted_ = re.search(r"TEMP B-TREE FOR ORDER BY|^\s*(->\s*)?Sort  \(", found, re.M)
            assert not sorted_, (sql, found)


API_LISTS = [
    ("staff", "", "execution_job_created_at"),
    ("staff", "status=failed", "job_status_recent"),
    ("staff", "plugin=OCR", "job_plugin_any_case"),
    # Either index gives the combination in order: the planner picks by what it knows.
    ("staff", "plugin=OCR&status=failed", "job_plugin_any_case|job_status_recent"),
    ("owner", "", "job_owner_recent"),
    ("owner", "status=failed", "job_owner_status_recent"),
    ("owner", "plugin=OCR", "job_owner_plugin_any_case"),
    ("owner", "plugin=OCR&status=failed", "job_owner_plugin_any_case|job_owner_status_recent"),
]


@pytest.mark.parametrize(("who", "query", "index"), API_LISTS)
def test_each_api_list_page_is_read_through_its_index(
    table: Job, user: Any, plan: Any, who: str, query: str, index: str
) -> None:
    staff = get_user_model().objects.create_user("ops", is_staff=True)
    client = APIClient()
    client.force_authenticate(staff if who == "staff" else user)
    if index == "execution_job_created_at":
        index = index_name("created_at")

    first = job_queries(client, f"{JOBS}?{query}")
    after = client.get(f"{JOBS}?{query}").json()["next"]
    before = client.get(after).json()["previous"]

    assert_served_by(plan, first, index)
    assert_served_by(plan, job_queries(client, after), index)
    assert_served_by(plan, job_queries(client, before), index)


ADMIN_LISTS = [
    (ADMIN_JOBS, "", "created_at"),
    (ADMIN_JOBS, "?status__exact=FAILED", "job_status_recent"),
    (ADMIN_JOBS, "?plugin=ocr", "job_plugin_recent"),
    (ADMIN_JOBS, "?status__exact=FAILED&plugin=ocr", "job_plugin_status_recent"),
    (ADMIN_JOBS, "?error_code=PLUGIN_FAILED", "job_error_code_recent"),
    (ADMIN_JOBS, "?created_at__gte=2000-01-01+00:00:00%2B00:00", "created_at"),
    (ADMIN_JOBS, "?p=2", "created_at"),
    (ADMIN_JOBS, f"?q={DIGEST.upper()}", "image_sha256"),
    (ADMIN_JOBS, "?q={pk}", "pk"),
    (ADMIN_FAILED, "", "job_status_recent"),
    (ADMIN_FAILED, "?plugin=ocr", "job_plugin_status_recent"),
    (ADMIN_FAILED, "?q={pk}", "pk"),
]


@pytest.mark.parametrize(("changelist", "query", "index"), ADMIN_LISTS)
def test_each_admin_list_filter_and_search_is_read_through_its_index(
    table: Job, ops_client: Client, plan: Any, changelist: str, query: str, index: str
) -> None:
    if index == "pk":
        index = "execution_job_pkey" if connection.vendor == "postgresql" else "sqlite_autoindex_"
    elif index in ("created_at", "image_sha256"):
        index = index_name(index)
    url = f"{changelist}{query.format(pk=table.pk)}"

    queries = job_queries(ops_client, url)

    assert_served_by(plan, queries, index, in_order="?q=" not in query)


def test_the_admin_list_of_jobs_nobody_submitted_is_read_in_order(
    ops_client: Client, plan: Any
) -> None:
    """Jobs from the command line have no creator. Given the statistics of such a table and of
    a small user table, SQLite once joined the users to every job and sorted them all."""
    many_jobs(2000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    assert_served_by(plan, job_queries(ops_client, ADMIN_JOBS), index_name("created_at"))


def test_no_column_that_leads_a_composite_index_has_one_of_its_own() -> None:
    """Migration 0007 dropped them by name (and their _like twins on PostgreSQL): a name it got
    wrong would leave an index behind, which IF EXISTS would not say."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Job._meta.db_table)
    own = {
        column
        for constraint in constraints.values()
        if constraint["index"] and len(constraint["columns"]) == 1
        for column in constraint["columns"]
    }

    assert own & {"plugin", "status", "error_code", "created_by_id"} == set()
    assert {"created_at", "image_sha256"} <= own  # the ones some list still reads
