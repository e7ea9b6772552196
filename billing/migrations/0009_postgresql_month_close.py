"""PostgreSQL: the tables of month close (0008) under the rules of 0007, and credit notes
that never change (R16).

- TRUNCATE is refused on every new table to every role but the owner, and the new audit
  trail (credit notes) is append-only, with 0007's two functions.
- A credit note and its lines are inserted, never updated or deleted; a credit note's
  number is ``CN-YYYYMM-NNNN`` of its month of issue, NNNN at most that month's counter,
  which never goes back.
- The record of exported journal entries is append-only: an entry handed to the
  accounting software stays handed.
"""

from django.db import migrations

TABLES = (
    "billing_creditnote",
    "billing_creditnoteline",
    "billing_creditnoteseries",
    "billing_latechange",
    "billing_journalexport",
    "billing_journalentryexport",
)
HISTORY_TABLES = ("billing_historicalcreditnote",)

TRIGGERS = r"""
CREATE FUNCTION billing_credit_note_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'R16: % of %: an issued credit note never changes or goes away', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$;
CREATE TRIGGER billing_creditnote_immutable BEFORE UPDATE OR DELETE ON billing_creditnote
FOR EACH ROW EXECUTE FUNCTION billing_credit_note_immutable();
CREATE TRIGGER billing_creditnoteline_immutable BEFORE UPDATE OR DELETE ON billing_creditnoteline
FOR EACH ROW EXECUTE FUNCTION billing_credit_note_immutable();
CREATE TRIGGER billing_journalentryexport_append_only BEFORE UPDATE OR DELETE ON billing_journalentryexport
FOR EACH ROW EXECUTE FUNCTION billing_credit_note_immutable();

CREATE FUNCTION billing_credit_note_numbered() RETURNS trigger
LANGUAGE plpgsql SET search_path = @SEARCH_PATH@ AS $$
DECLARE
    counter integer;
    sequence integer;
BEGIN
    SELECT last_number INTO counter FROM billing_creditnoteseries
    WHERE month = date_trunc('month', NEW.issue_date)::date;
    IF NEW.number !~ ('^CN-' || to_char(NEW.issue_date, 'YYYYMM') || '-[0-9]{4,}$') THEN
        RAISE EXCEPTION 'R16: credit note % is not numbered in the series of its month of issue', NEW.number
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    sequence := substring(NEW.number from 11)::integer;
    IF counter IS NULL OR sequence < 1 OR sequence > counter THEN
        RAISE EXCEPTION 'R16: credit note % is beyond its series'' counter', NEW.number
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER billing_creditnote_numbered BEFORE INSERT ON billing_creditnote
FOR EACH ROW EXECUTE FUNCTION billing_credit_note_numbered();

CREATE FUNCTION billing_credit_note_series_forward() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.month <> OLD.month OR NEW.last_number < OLD.last_number THEN
        RAISE EXCEPTION 'R16: the credit note series of % keeps its month and never goes back', OLD.month
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER billing_creditnoteseries_forward BEFORE UPDATE OR DELETE ON billing_creditnoteseries
FOR EACH ROW EXECUTE FUNCTION billing_credit_note_series_forward();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS billing_creditnoteseries_forward ON billing_creditnoteseries;
DROP FUNCTION IF EXISTS billing_credit_note_series_forward();
DROP TRIGGER IF EXISTS billing_creditnote_numbered ON billing_creditnote;
DROP FUNCTION IF EXISTS billing_credit_note_numbered();
DROP TRIGGER IF EXISTS billing_journalentryexport_append_only ON billing_journalentryexport;
DROP TRIGGER IF EXISTS billing_creditnoteline_immutable ON billing_creditnoteline;
DROP TRIGGER IF EXISTS billing_creditnote_immutable ON billing_creditnote;
DROP FUNCTION IF EXISTS billing_credit_note_immutable();
"""


def _search_path(schema_editor) -> str:
    """pg_catalog, the schema the tables are in, and pg_temp last (never first), as 0007."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        (schema,) = cursor.fetchone()
    return f"pg_catalog, {schema_editor.quote_name(schema)}, pg_temp"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(TRIGGERS.replace("@SEARCH_PATH@", _search_path(schema_editor)), params=None)
    for table in TABLES + HISTORY_TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER smartkey_no_truncate BEFORE TRUNCATE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION smartkey_refuse_truncate()",
            params=None,
        )
    for table in HISTORY_TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER smartkey_history_append_only BEFORE UPDATE OR DELETE ON {table}"
            " FOR EACH ROW EXECUTE FUNCTION smartkey_history_append_only()",
            params=None,
        )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in HISTORY_TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS smartkey_history_append_only ON {table}", params=None)
    for table in TABLES + HISTORY_TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS smartkey_no_truncate ON {table}", params=None)
    schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("billing", "0008_month_close")]
    operations = [migrations.RunPython(forward, backward, elidable=False)]
