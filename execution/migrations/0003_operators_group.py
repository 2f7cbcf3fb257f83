"""The read-only "operators" group: every view permission of the dashboard's apps, nothing else.

Permissions are made by a post_migrate signal, after all migrations; this migration creates
those it needs first, so the group is complete on a fresh database too. Add a staff user to the
group and they can look at plugins, jobs and the queue, and act on nothing.
"""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

OPERATORS = "operators"
# Tokens and users (auth, authtoken) are not the operators' to read.
VIEWED_APPS = ("registry", "execution", "django_q")


def create_operators_group(apps, schema_editor):
    for label in VIEWED_APPS:
        create_permissions(global_apps.get_app_config(label), verbosity=0, apps=apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=OPERATORS)
    group.permissions.set(
        Permission.objects.filter(
            content_type__app_label__in=VIEWED_APPS, codename__startswith="view_"
        )
    )


def delete_operators_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=OPERATORS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("execution", "0002_job_rerun_of_and_retention_index"),
        ("registry", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_operators_group, delete_operators_group)]
