"""PostgreSQL triggers: issued invoices and their lines never change, by any path.

The models refuse it too (``Invoice.save``/``delete``, ``InvoiceQuerySet.update``/
``delete``, ``InvoiceLine.save``/``delete``); these triggers hold it for raw SQL, bulk
operations and any future code. The only change an issued invoice accepts is being
voided: status issued → void with voided_at, voided_by and the reason, every other
column unchanged. Lines can be added, changed or removed only while their invoice is a
draft. An issued month never returns to draft.
"""

from django.db import migrations

FORWARD = r"""
CREATE OR REPLACE FUNCTION billing_invoice_immutable() RETURNS trigger AS $$
DECLARE
    voiding_columns text[] := ARRAY['status', 'voided_at', 'voided_by_id', 'void_reason'];
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status <> 'draft' THEN
            RAISE EXCEPTION 'R12: invoice % is %, it is never deleted (void it instead)', OLD.number, OLD.status
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status = 'void' THEN
        RAISE EXCEPTION 'R12: invoice % is void and never changes', OLD.number
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF OLD.status = 'issued' AND (
           NEW.status <> 'void'
           OR (to_jsonb(NEW) - voiding_columns) IS DISTINCT FROM (to_jsonb(OLD) - voiding_columns)) THEN
        RAISE EXCEPTION 'R12: invoice % is issued and never changes (void it and issue a replacement)', OLD.number
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER billing_invoice_immutable
BEFORE UPDATE OR DELETE ON billing_invoice
FOR EACH ROW EXECUTE FUNCTION billing_invoice_immutable();

CREATE OR REPLACE FUNCTION billing_invoiceline_immutable() RETURNS trigger AS $$
DECLARE
    invoice_status text;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        SELECT status INTO invoice_status FROM billing_invoice WHERE id = OLD.invoice_id;
        IF invoice_status IS NOT NULL AND invoice_status <> 'draft' THEN
            RAISE EXCEPTION 'R12: the lines of an issued invoice never change'
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT status INTO invoice_status FROM billing_invoice WHERE id = NEW.invoice_id;
        IF invoice_status <> 'draft' THEN
            RAISE EXCEPTION 'R12: lines are added to draft invoices only'
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NEW;
    END IF;
    RETURN OLD;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER billing_invoiceline_immutable
BEFORE INSERT OR UPDATE OR DELETE ON billing_invoiceline
FOR EACH ROW EXECUTE FUNCTION billing_invoiceline_immutable();

CREATE OR REPLACE FUNCTION billing_run_stays_issued() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND OLD.status = 'issued' THEN
        RAISE EXCEPTION 'R12: issued month % is never deleted', OLD.month
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.status = 'issued' AND NEW.status <> 'issued' THEN
        RAISE EXCEPTION 'R12: issued month % never returns to draft', OLD.month
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER billing_run_stays_issued
BEFORE UPDATE OR DELETE ON billing_billingrun
FOR EACH ROW EXECUTE FUNCTION billing_run_stays_issued();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS billing_run_stays_issued ON billing_billingrun;
DROP FUNCTION IF EXISTS billing_run_stays_issued();
DROP TRIGGER IF EXISTS billing_invoiceline_immutable ON billing_invoiceline;
DROP FUNCTION IF EXISTS billing_invoiceline_immutable();
DROP TRIGGER IF EXISTS billing_invoice_immutable ON billing_invoice;
DROP FUNCTION IF EXISTS billing_invoice_immutable();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("billing", "0003_audit_trail")]
    operations = [migrations.RunPython(forward, backward, elidable=False)]
