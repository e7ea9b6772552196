"""PostgreSQL triggers for the rules that span a column computation or another table.

SQLite has no equivalent worth its complexity; there the same rules are held by the
model (``clean()`` and ``save()``), which every path of the application goes through.
"""

from django.db import migrations

FORWARD = r"""
CREATE OR REPLACE FUNCTION contracts_termination_effective_on() RETURNS trigger AS $$
BEGIN
    -- Art. 6 / R6: later of arrival + 30 days (arrival not counted) and the requested day;
    -- no effective date without the prescribed form.
    IF NEW.on_prescribed_form THEN
        NEW.effective_on := GREATEST(NEW.notice_received_on + 30,
                                     COALESCE(NEW.requested_on, NEW.notice_received_on + 30));
    ELSE
        NEW.effective_on := NULL;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER contracts_termination_effective_on
BEFORE INSERT OR UPDATE ON contracts_termination
FOR EACH ROW EXECUTE FUNCTION contracts_termination_effective_on();

CREATE OR REPLACE FUNCTION contracts_contract_requires_iijid() RETURNS trigger AS $$
BEGIN
    -- Art. 3 / R3: acceptance only with an IIJ ID Service contract active that day.
    IF NEW.accepted_on IS NOT NULL
       AND (TG_OP = 'INSERT'
            OR NEW.accepted_on IS DISTINCT FROM OLD.accepted_on
            OR NEW.customer_id IS DISTINCT FROM OLD.customer_id)
       AND NOT EXISTS (
            SELECT 1 FROM contracts_iijidcontract i
            WHERE i.customer_id = NEW.customer_id
              AND i.start_on <= NEW.accepted_on
              AND (i.end_on IS NULL OR NEW.accepted_on <= i.end_on))
    THEN
        RAISE EXCEPTION 'Art. 3: contract % cannot be accepted on %: no IIJ ID Service contract active that day',
            NEW.code, NEW.accepted_on
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER contracts_contract_requires_iijid
BEFORE INSERT OR UPDATE ON contracts_contract
FOR EACH ROW EXECUTE FUNCTION contracts_contract_requires_iijid();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS contracts_contract_requires_iijid ON contracts_contract;
DROP FUNCTION IF EXISTS contracts_contract_requires_iijid();
DROP TRIGGER IF EXISTS contracts_termination_effective_on ON contracts_termination;
DROP FUNCTION IF EXISTS contracts_termination_effective_on();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("contracts", "0001_initial")]
    operations = [migrations.RunPython(forward, backward, elidable=False)]
