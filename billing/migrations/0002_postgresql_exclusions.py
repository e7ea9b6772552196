"""PostgreSQL exclusion constraints for the periods that must never overlap.

- R8: the rate cards of one contract never cover the same month.
- R10: the registration periods of one account never overlap, so its days of use are
  the sum of its periods' days.

SQLite cannot hold these; there the model's clean() and the import check them.
btree_gist lets an exclusion constraint compare the contract id with ``=``.
"""

from django.db import migrations

FORWARD = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE billing_ratecard ADD CONSTRAINT rate_card_periods_do_not_overlap
    EXCLUDE USING gist (contract_id WITH =, daterange(valid_from, valid_until, '[]') WITH &&);
ALTER TABLE billing_accountregistration ADD CONSTRAINT account_periods_do_not_overlap
    EXCLUDE USING gist (contract_id WITH =, account_id WITH =,
                        daterange(registered_on, deregistered_on, '[]') WITH &&);
"""

BACKWARD = """
ALTER TABLE billing_accountregistration DROP CONSTRAINT IF EXISTS account_periods_do_not_overlap;
ALTER TABLE billing_ratecard DROP CONSTRAINT IF EXISTS rate_card_periods_do_not_overlap;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]
    operations = [migrations.RunPython(forward, backward, elidable=False)]
