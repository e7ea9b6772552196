"""PostgreSQL: an issued document kept is never changed or deleted (R19), whatever path
writes to the table, and TRUNCATE is refused (0007's function), as for invoices."""

from django.db import migrations

TRIGGERS = r"""
CREATE FUNCTION billing_stored_document_kept() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'R19: % of %: an issued document is kept as it was issued', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$;
CREATE TRIGGER billing_storeddocument_kept BEFORE UPDATE OR DELETE ON billing_storeddocument
FOR EACH ROW EXECUTE FUNCTION billing_stored_document_kept();
CREATE TRIGGER smartkey_no_truncate BEFORE TRUNCATE ON billing_storeddocument
FOR EACH STATEMENT EXECUTE FUNCTION smartkey_refuse_truncate();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS smartkey_no_truncate ON billing_storeddocument;
DROP TRIGGER IF EXISTS billing_storeddocument_kept ON billing_storeddocument;
DROP FUNCTION IF EXISTS billing_stored_document_kept();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGERS, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("billing", "0012_stored_documents")]
    operations = [migrations.RunPython(forward, backward, elidable=False)]
