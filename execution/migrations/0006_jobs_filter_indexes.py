"""Indexes for the API's plugin filter (in any case) and the admin's plugin and error-code
filters.

On PostgreSQL they are built CONCURRENTLY: a plain CREATE INDEX holds a lock that blocks every
insert and update of the jobs table while it reads the whole table, and a deployment with a
large table keeps accepting jobs while this migration runs. CONCURRENTLY cannot run inside a
transaction, hence ``atomic = False``. An interrupted build leaves an INVALID index behind; the
next run drops it (IF EXISTS) before building it again. SQLite builds them as usual: no table
is rewritten either way.
"""

from django.conf import settings
from django.db import migrations, models
from django.db.models.functions import Lower


# Written out here, not imported: a migration must not change when the model's code does.
PLUGIN_ANY_CASE_RECENT = (
    Lower("plugin"),
    models.F("created_at").desc(),
    models.F("status"),
    models.F("plugin"),
)


class AddIndexConcurrentlyOnPostgres(migrations.AddIndex):
    """AddIndex, built and dropped without blocking writes on PostgreSQL."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            schema_editor.remove_index(model, self.index, concurrently=True)
            schema_editor.add_index(model, self.index, concurrently=True)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            schema_editor.remove_index(model, self.index, concurrently=True)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("execution", "0005_job_created_at_default"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="job",
            index=models.Index(*PLUGIN_ANY_CASE_RECENT, name="job_plugin_any_case"),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="job",
            index=models.Index(
                models.F("created_by"), *PLUGIN_ANY_CASE_RECENT, name="job_owner_plugin_any_case"
            ),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="job",
            index=models.Index(
                fields=["plugin", "status", "-created_at"], name="job_plugin_status_recent"
            ),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="job",
            index=models.Index(fields=["error_code", "-created_at"], name="job_error_code_recent"),
        ),
    ]
