"""The support, finance and administrator groups with their permissions (dashboard.roles)."""

from django.db import migrations

from dashboard import roles


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("playsessions", "0004_operator_console"),
        ("games", "0001_initial"),
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(
            lambda apps, schema_editor: roles.make_roles(apps),
            lambda apps, schema_editor: roles.drop_roles(apps),
        )
    ]
