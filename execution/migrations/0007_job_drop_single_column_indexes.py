"""Drop the job table's own indexes of plugin, status, error_code and created_by.

Each of these columns leads a composite index (job_plugin_recent, job_status_recent and
job_status_finished, job_error_code_recent, job_owner_recent) that serves every query filtering
on it, newest first, so their own indexes served none. Every job's INSERT wrote them all the
same, and every status change rewrote two; and PostgreSQL's planner once counted a plugin's jobs
through the plugin column's own index from its first entry (80,000 entries for 1,001 jobs).

AlterField would make SQLite copy the whole table to drop an index: the model's state changes
here, and the database drops the indexes by the names Django gave them, the same on every
backend (PostgreSQL also made a ``_like`` twin of each text column's index, for LIKE 'x%',
which no query of ours sends). On PostgreSQL they go CONCURRENTLY, so a large table keeps
taking jobs meanwhile; that cannot run inside a transaction, hence ``atomic = False``.
"""

from django.conf import settings
from django.db import migrations, models

TABLE = "execution_job"
# column -> the name Django gave its index (db_index=True, and a ForeignKey's default).
INDEXES = {
    "plugin": "execution_job_plugin_75dfcda6",
    "status": "execution_job_status_14cfbdf5",
    "error_code": "execution_job_error_code_e63a19f8",
    "created_by_id": "execution_job_created_by_id_a6841fa3",
}
TEXT_COLUMNS = ("plugin", "status", "error_code")


def _postgres(schema_editor) -> bool:
    return schema_editor.connection.vendor == "postgresql"


def drop_indexes(apps, schema_editor) -> None:
    quote = schema_editor.quote_name
    concurrently = "CONCURRENTLY " if _postgres(schema_editor) else ""
    for column, name in INDEXES.items():
        names = [name, f"{name}_like"] if column in TEXT_COLUMNS and concurrently else [name]
        for index in names:
            schema_editor.execute(f"DROP INDEX {concurrently}IF EXISTS {quote(index)}")


def create_indexes(apps, schema_editor) -> None:
    quote = schema_editor.quote_name
    concurrently = "CONCURRENTLY " if _postgres(schema_editor) else ""
    for column, name in INDEXES.items():
        on = f"ON {quote(TABLE)}"
        schema_editor.execute(
            f"CREATE INDEX {concurrently}IF NOT EXISTS {quote(name)} {on} ({quote(column)})"
        )
        if column in TEXT_COLUMNS and concurrently:
            schema_editor.execute(
                f"CREATE INDEX {concurrently}IF NOT EXISTS {quote(name + '_like')} {on} "
                f"({quote(column)} varchar_pattern_ops)"
            )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("execution", "0006_jobs_filter_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop_indexes, create_indexes)],
            state_operations=[
                migrations.AlterField(
                    model_name="job",
                    name="created_by",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        help_text="Who submitted the job (empty for jobs from the command line).",
                        null=True,
                        on_delete=models.deletion.SET_NULL,
                        related_name="execution_jobs",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="job",
                    name="error_code",
                    field=models.CharField(
                        blank=True, help_text="The envelope's code, for filtering.", max_length=50
                    ),
                ),
                migrations.AlterField(
                    model_name="job",
                    name="plugin",
                    field=models.CharField(
                        help_text="Plugin name as the client asked for it.", max_length=100
                    ),
                ),
                migrations.AlterField(
                    model_name="job",
                    name="status",
                    field=models.CharField(
                        choices=[
                            ("PENDING", "PENDING"),
                            ("RUNNING", "RUNNING"),
                            ("SUCCESS", "SUCCESS"),
                            ("FAILED", "FAILED"),
                            ("CANCELLED", "CANCELLED"),
                        ],
                        default="PENDING",
                        help_text="PENDING → RUNNING → SUCCESS | FAILED, or CANCELLED before it ran.",
                        max_length=10,
                    ),
                ),
            ],
        ),
    ]
