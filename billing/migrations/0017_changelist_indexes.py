"""The indexes the changelists use (issue 16, contracts/admin_lists.py).

- Invoices are listed newest month first, then by number: an index in that order lets a
  page read its 100 rows instead of sorting the table (every database).
- PostgreSQL: registered IDs, invoice numbers and customer codes match by their start,
  case-insensitive (``UPPER(x::text) LIKE 'SK0001%'``: a ``text_pattern_ops`` index of
  ``UPPER(x)``); names and descriptions anywhere (a ``pg_trgm`` index, the extension being
  created by ``contracts`` 0005).
"""

from django.db import migrations, models

FORWARD = """
CREATE INDEX account_id_upper_prefix ON billing_accountregistration (UPPER(account_id) text_pattern_ops);
CREATE INDEX invoice_number_upper_prefix ON billing_invoice (UPPER(number) text_pattern_ops);
CREATE INDEX invoice_customer_code_upper_prefix ON billing_invoice (UPPER(customer_code) text_pattern_ops);
CREATE INDEX invoice_billing_name_upper_trgm ON billing_invoice USING gin (UPPER(billing_name) gin_trgm_ops);
CREATE INDEX invoice_customer_name_upper_trgm ON billing_invoice USING gin (UPPER(customer_name) gin_trgm_ops);
CREATE INDEX one_time_charge_description_upper_trgm ON billing_onetimecharge
    USING gin (UPPER(description) gin_trgm_ops);
"""

BACKWARD = """
DROP INDEX IF EXISTS one_time_charge_description_upper_trgm;
DROP INDEX IF EXISTS invoice_customer_name_upper_trgm;
DROP INDEX IF EXISTS invoice_billing_name_upper_trgm;
DROP INDEX IF EXISTS invoice_customer_code_upper_prefix;
DROP INDEX IF EXISTS invoice_number_upper_prefix;
DROP INDEX IF EXISTS account_id_upper_prefix;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("billing", "0016_postgresql_payments"), ("contracts", "0005_changelist_indexes")]
    operations = [
        migrations.AddIndex(
            model_name="invoice",
            index=models.Index(
                fields=["-billing_month", "number", "customer_code"], name="invoice_list_order_idx"
            ),
        ),
        migrations.RunPython(forward, backward, elidable=False),
    ]
