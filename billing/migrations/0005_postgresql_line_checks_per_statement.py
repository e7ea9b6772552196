"""PostgreSQL: the lines of an issued invoice never change (0004), checked once per
statement instead of once per row.

A monthly run writes and replaces thousands of draft lines; the row trigger of 0004 ran
one lookup of the invoice per line (at the target size of the benchmark, 0.1–0.15 s of a
run). The statement triggers below check the same thing with one join of the statement's
rows (its transition tables) against the invoices, and refuse the whole statement with
the same messages as before.
"""

from django.db import migrations

FORWARD = r"""
DROP TRIGGER IF EXISTS billing_invoiceline_immutable ON billing_invoiceline;
DROP FUNCTION IF EXISTS billing_invoiceline_immutable();

CREATE OR REPLACE FUNCTION billing_invoiceline_immutable_rows() RETURNS trigger AS $$
BEGIN
    -- nested IFs: each query names only the transition tables its operation has
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        IF EXISTS (
            SELECT 1 FROM old_lines l JOIN billing_invoice i ON i.id = l.invoice_id WHERE i.status <> 'draft'
        ) THEN
            RAISE EXCEPTION 'R12: the lines of an issued invoice never change'
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        IF EXISTS (
            SELECT 1 FROM new_lines l JOIN billing_invoice i ON i.id = l.invoice_id WHERE i.status <> 'draft'
        ) THEN
            RAISE EXCEPTION 'R12: lines are added to draft invoices only'
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER billing_invoiceline_immutable_insert
AFTER INSERT ON billing_invoiceline REFERENCING NEW TABLE AS new_lines
FOR EACH STATEMENT EXECUTE FUNCTION billing_invoiceline_immutable_rows();

CREATE TRIGGER billing_invoiceline_immutable_update
AFTER UPDATE ON billing_invoiceline REFERENCING OLD TABLE AS old_lines NEW TABLE AS new_lines
FOR EACH STATEMENT EXECUTE FUNCTION billing_invoiceline_immutable_rows();

CREATE TRIGGER billing_invoiceline_immutable_delete
AFTER DELETE ON billing_invoiceline REFERENCING OLD TABLE AS old_lines
FOR EACH STATEMENT EXECUTE FUNCTION billing_invoiceline_immutable_rows();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS billing_invoiceline_immutable_delete ON billing_invoiceline;
DROP TRIGGER IF EXISTS billing_invoiceline_immutable_update ON billing_invoiceline;
DROP TRIGGER IF EXISTS billing_invoiceline_immutable_insert ON billing_invoiceline;
DROP FUNCTION IF EXISTS billing_invoiceline_immutable_rows();

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
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("billing", "0004_postgresql_invoice_immutability")]
    operations = [migrations.RunPython(forward, backward, elidable=False)]
