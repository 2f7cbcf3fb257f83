import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("execution", "0004_jobs_list_indexes"),
    ]

    # The column is the same before and after (neither is a database default): only Django's
    # state changes. As a plain AlterField, SQLite would copy the whole jobs table to rebuild it.
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="job",
                    name="created_at",
                    field=models.DateTimeField(
                        db_index=True,
                        default=django.utils.timezone.now,
                        editable=False,
                        help_text="When the job was accepted.",
                    ),
                ),
            ],
        ),
    ]
