"""PostgreSQL: R17's books hold whatever path writes to them. The applications of a
deposit never add up to more than the deposit (its row locked while they are counted);
an application is never deleted and only ever gains its reversal; a deposit keeps its
identifier, date and amount and is never deleted; a reminder sent stays as recorded; TRUNCATE is refused (0007's function)."""

from django.db import migrations

TRIGGERS = r"""
CREATE FUNCTION billing_application_within_deposit() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    deposit_amount numeric;
    applied numeric;
BEGIN
    IF TG_OP = 'UPDATE' AND (
        OLD.reversed_at IS NOT NULL
        OR NEW.deposit_id <> OLD.deposit_id OR NEW.invoice_id <> OLD.invoice_id
        OR NEW.amount <> OLD.amount OR NEW.fee <> OLD.fee OR NEW.rule <> OLD.rule
        OR NEW.applied_at <> OLD.applied_at
    ) THEN
        RAISE EXCEPTION 'R17: an application is never changed; reverse it and apply again'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    SELECT amount INTO deposit_amount FROM billing_deposit WHERE id = NEW.deposit_id FOR UPDATE;
    SELECT COALESCE(SUM(amount), 0) INTO applied FROM billing_application
        WHERE deposit_id = NEW.deposit_id AND reversed_at IS NULL;
    IF applied > deposit_amount THEN
        RAISE EXCEPTION 'R17: deposit % would be applied % yen of its % yen', NEW.deposit_id, applied, deposit_amount
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER billing_application_within_deposit AFTER INSERT OR UPDATE ON billing_application
FOR EACH ROW EXECUTE FUNCTION billing_application_within_deposit();

CREATE FUNCTION billing_reminder_kept() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'R17: % of %: the record of a reminder sent is kept', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$;
CREATE TRIGGER billing_reminder_kept BEFORE UPDATE OR DELETE ON billing_reminder
FOR EACH ROW EXECUTE FUNCTION billing_reminder_kept();
CREATE TRIGGER smartkey_no_truncate BEFORE TRUNCATE ON billing_reminder
FOR EACH STATEMENT EXECUTE FUNCTION smartkey_refuse_truncate();
CREATE FUNCTION billing_deposit_kept() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.source_id = OLD.source_id AND NEW.received_on = OLD.received_on
            AND NEW.amount = OLD.amount AND NEW.source = OLD.source THEN
            RETURN NEW;  -- whose money it is may be decided later
        END IF;
    END IF;
    RAISE EXCEPTION 'R17: % of %: a deposit keeps its identifier, date and amount and is never deleted',
        TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$;
CREATE FUNCTION billing_application_kept() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        RETURN NEW;  -- only its reversal: checked by billing_application_within_deposit
    END IF;
    RAISE EXCEPTION 'R17: % of %: an application is reversed, never deleted', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$;
CREATE TRIGGER billing_deposit_kept BEFORE UPDATE OR DELETE ON billing_deposit
FOR EACH ROW EXECUTE FUNCTION billing_deposit_kept();
CREATE TRIGGER billing_application_kept BEFORE UPDATE OR DELETE ON billing_application
FOR EACH ROW EXECUTE FUNCTION billing_application_kept();
CREATE TRIGGER smartkey_no_truncate BEFORE TRUNCATE ON billing_deposit
FOR EACH STATEMENT EXECUTE FUNCTION smartkey_refuse_truncate();
CREATE TRIGGER smartkey_no_truncate BEFORE TRUNCATE ON billing_application
FOR EACH STATEMENT EXECUTE FUNCTION smartkey_refuse_truncate();
CREATE TRIGGER smartkey_no_truncate BEFORE TRUNCATE ON billing_payername
FOR EACH STATEMENT EXECUTE FUNCTION smartkey_refuse_truncate();
CREATE TRIGGER smartkey_no_truncate BEFORE TRUNCATE ON billing_historicaldeposit
FOR EACH STATEMENT EXECUTE FUNCTION smartkey_refuse_truncate();
CREATE TRIGGER smartkey_no_truncate BEFORE TRUNCATE ON billing_historicalapplication
FOR EACH STATEMENT EXECUTE FUNCTION smartkey_refuse_truncate();
CREATE TRIGGER smartkey_no_truncate BEFORE TRUNCATE ON billing_historicalpayername
FOR EACH STATEMENT EXECUTE FUNCTION smartkey_refuse_truncate();
CREATE TRIGGER smartkey_history_append_only BEFORE UPDATE OR DELETE ON billing_historicaldeposit
FOR EACH ROW EXECUTE FUNCTION smartkey_history_append_only();
CREATE TRIGGER smartkey_history_append_only BEFORE UPDATE OR DELETE ON billing_historicalapplication
FOR EACH ROW EXECUTE FUNCTION smartkey_history_append_only();
CREATE TRIGGER smartkey_history_append_only BEFORE UPDATE OR DELETE ON billing_historicalpayername
FOR EACH ROW EXECUTE FUNCTION smartkey_history_append_only();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS smartkey_history_append_only ON billing_historicaldeposit;
DROP TRIGGER IF EXISTS smartkey_history_append_only ON billing_historicalapplication;
DROP TRIGGER IF EXISTS smartkey_history_append_only ON billing_historicalpayername;
DROP TRIGGER IF EXISTS smartkey_no_truncate ON billing_deposit;
DROP TRIGGER IF EXISTS smartkey_no_truncate ON billing_application;
DROP TRIGGER IF EXISTS smartkey_no_truncate ON billing_payername;
DROP TRIGGER IF EXISTS smartkey_no_truncate ON billing_historicaldeposit;
DROP TRIGGER IF EXISTS smartkey_no_truncate ON billing_historicalapplication;
DROP TRIGGER IF EXISTS smartkey_no_truncate ON billing_historicalpayername;
DROP TRIGGER IF EXISTS billing_application_kept ON billing_application;
DROP TRIGGER IF EXISTS billing_deposit_kept ON billing_deposit;
DROP TRIGGER IF EXISTS billing_application_within_deposit ON billing_application;
DROP TRIGGER IF EXISTS smartkey_no_truncate ON billing_reminder;
DROP TRIGGER IF EXISTS billing_reminder_kept ON billing_reminder;
DROP FUNCTION IF EXISTS billing_reminder_kept();
DROP FUNCTION IF EXISTS billing_application_kept();
DROP FUNCTION IF EXISTS billing_deposit_kept();
DROP FUNCTION IF EXISTS billing_application_within_deposit();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGERS, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("billing", "0014_mail"), ("billing", "0015_payments")]
    operations = [migrations.RunPython(forward, backward, elidable=False)]
