"""PostgreSQL: the indexes the changelists' searches use (issue 16, contracts/admin_lists.py).

Codes match by their start, case-insensitive: Django's ``istartswith`` is
``UPPER(code::text) LIKE UPPER('sk0001%')``, which a ``text_pattern_ops`` index of
``UPPER(code)`` answers (the unique index of ``code`` does not: it is case-sensitive and in
the database's collation). Names match anywhere (``icontains``): a trigram index
(``pg_trgm``, a trusted extension the database's owner creates during ``migrate``, like
``btree_gist``) answers ``LIKE '%…%'``. SQLite keeps its scans (small databases only).
"""

from django.db import migrations

FORWARD = """
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX contract_code_upper_prefix ON contracts_contract (UPPER(code) text_pattern_ops);
CREATE INDEX customer_code_upper_prefix ON contracts_customer (UPPER(code) text_pattern_ops);
CREATE INDEX customer_name_upper_trgm ON contracts_customer USING gin (UPPER(name) gin_trgm_ops);
CREATE INDEX customer_billing_name_upper_trgm ON contracts_customer
    USING gin (UPPER(billing_name) gin_trgm_ops);
"""

BACKWARD = """
DROP INDEX IF EXISTS customer_billing_name_upper_trgm;
DROP INDEX IF EXISTS customer_name_upper_trgm;
DROP INDEX IF EXISTS customer_code_upper_prefix;
DROP INDEX IF EXISTS contract_code_upper_prefix;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("contracts", "0004_customer_email_lists")]
    operations = [migrations.RunPython(forward, backward, elidable=False)]
