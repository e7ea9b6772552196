"""PostgreSQL: the changes since the drafts (0019) under the rules of 0007: TRUNCATE is
refused to every role but the owner, as on billing_latechange (0009)."""

from django.db import migrations

TABLES = ("billing_draftchange",)


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER smartkey_no_truncate BEFORE TRUNCATE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION smartkey_refuse_truncate()",
            params=None,
        )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS smartkey_no_truncate ON {table}", params=None)


class Migration(migrations.Migration):
    dependencies = [("billing", "0019_draft_changes")]
    operations = [migrations.RunPython(forward, backward, elidable=False)]
