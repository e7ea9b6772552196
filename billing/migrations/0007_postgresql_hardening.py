"""PostgreSQL: what the application's own database role can no longer do (issue 10, item 3).

0004 and 0005 keep issued invoices and their lines from changing. Inside a transaction the
application's role could still empty the tables, write an issued invoice directly, number
a draft at will, wind back a month's counter, rewrite the audit trail or an approved rate
card. The triggers below refuse that, whoever connects:

- TRUNCATE of every table of ``contracts`` and ``billing`` (audit trail included), except by
  the tables' owner (or a member of the owner's role, or a superuser): Django's test flush
  and ``manage.py flush`` run as the owner. The owner is trusted anyway: it can also disable
  or drop every trigger. That is why the application must not connect as the owner (README,
  "Database roles"; ``billing.roles.grant_app_role``).
- billing_invoice: rows are inserted as drafts only; a draft enters an issued month only as
  the replacement of a voided invoice of the same customer and month (inserted, or moved
  there by an UPDATE). The only changes of status are draft → issued and issued → void
  (0004 keeps everything else of an issued or void invoice). Issuing needs the number
  ``SK-YYYYMM-NNNN`` of the invoice's month with NNNN between 1 and the run's counter as it
  stands (the services write the counter first), the run of that month, an issue date, a
  due date and the time of issue; in an issued month, only a replacement is issued.
- billing_billingrun: the month never changes, the counter never goes back, an issued
  run's issued_at and issued_by never change (0004: it never returns to draft). At commit,
  for each run whose counter was written, as many invoices carry a number as the counter
  says: numbers are gapless, none skipped, none unused. (Only a new counter can open a gap:
  an invoice is numbered only up to the counter, and a numbered one never changes or goes.)
- The audit trail (every ``*_historical*`` table): rows are never updated or deleted, by any
  role, owner included.
- billing_ratecard (R8): an approved card is never deleted; its approval, author and prices
  never change; its last month and notification date change only as the approval of a
  pending change request that takes the requested values, except a first notification
  date. billing_authtier: no tier of an approved card is added, changed or removed.

Every trigger function that reads a table resolves its name in the schema the tables were
migrated into, never in ``pg_temp``: otherwise a role allowed to create temporary tables
(the import needs that) could create a ``pg_temp.billing_invoice`` of its own for a trigger
to read. Those of contracts 0002 and billing 0005 get the same fixed search_path. (Functions
and operators are never looked up in ``pg_temp``, and the application's role may create
nothing elsewhere: functions that read no table need no fixed path.)

SQLite has no triggers of this kind; there the models hold the same rules.
"""

from django.db import migrations

#: every table of the two apps, audit trail included (see tests/security/test_database.py)
TABLES = (
    "contracts_customer",
    "contracts_iijidcontract",
    "contracts_contract",
    "contracts_itemchange",
    "contracts_termination",
    "billing_ratecard",
    "billing_authtier",
    "billing_billingrun",
    "billing_runexception",
    "billing_invoice",
    "billing_invoiceline",
    "billing_accountregistration",
    "billing_authcount",
    "billing_onetimecharge",
)
#: the audit trail (django-simple-history): append-only
HISTORY_TABLES = (
    "contracts_historicalcustomer",
    "contracts_historicaliijidcontract",
    "contracts_historicalcontract",
    "contracts_historicalitemchange",
    "contracts_historicaltermination",
    "billing_historicalratecard",
    "billing_historicalauthtier",
    "billing_historicalbillingrun",
    "billing_historicalinvoice",
    "billing_historicalonetimecharge",
)
#: the trigger functions of earlier migrations that read a table: the fixed search_path too
EARLIER_FUNCTIONS = (
    "contracts_contract_requires_iijid()",
    "billing_invoiceline_immutable_rows()",
)

FUNCTIONS = r"""
CREATE FUNCTION smartkey_refuse_truncate() RETURNS trigger
LANGUAGE plpgsql SET search_path = @SEARCH_PATH@ AS $$
BEGIN
    IF NOT pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'USAGE') THEN
        RAISE EXCEPTION 'R19: % is never truncated (only the owner of the tables may, to reset a test database)',
            TG_TABLE_NAME
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION smartkey_history_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'R19: the audit trail is append-only: % of % is refused (history % of record %)',
        TG_OP, TG_TABLE_NAME, OLD.history_id, OLD.id
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$;

-- a draft enters an issued month only as the replacement of a voided invoice of the same
-- customer and month; returns the refusal, or NULL
CREATE FUNCTION billing_invoice_draft_refusal(invoice billing_invoice) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = @SEARCH_PATH@ AS $$
DECLARE
    run_month date;
BEGIN
    SELECT month INTO run_month FROM billing_billingrun WHERE id = invoice.run_id AND status = 'issued';
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF NOT EXISTS (
        SELECT 1 FROM billing_invoice v
        WHERE v.id = invoice.replaces_id AND v.status = 'void'
          AND v.customer_id = invoice.customer_id AND v.billing_month = invoice.billing_month
    ) THEN
        RETURN format(
            'R12: month %s is issued: an invoice enters it only as the replacement of a voided invoice of the same customer and month (customer %s)',
            to_char(run_month, 'YYYY-MM'), invoice.customer_code);
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION billing_invoice_inserted() RETURNS trigger
LANGUAGE plpgsql SET search_path = @SEARCH_PATH@ AS $$
DECLARE
    invoice billing_invoice;
    refusal text;
BEGIN
    SELECT * INTO invoice FROM new_invoices WHERE status <> 'draft' LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'R12: invoice % is inserted as %: invoices are inserted as drafts and numbered by issuing',
            COALESCE(invoice.number, invoice.customer_code), invoice.status
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    -- the one join that finds drafts inserted into an issued month (none, in a monthly run)
    FOR invoice IN
        SELECT n.* FROM new_invoices n JOIN billing_billingrun r ON r.id = n.run_id WHERE r.status = 'issued'
    LOOP
        refusal := billing_invoice_draft_refusal(invoice);
        IF refusal IS NOT NULL THEN
            RAISE EXCEPTION '%', refusal USING ERRCODE = 'integrity_constraint_violation';
        END IF;
    END LOOP;
    RETURN NULL;
END;
$$;

CREATE FUNCTION billing_invoice_transition() RETURNS trigger
LANGUAGE plpgsql SET search_path = @SEARCH_PATH@ AS $$
DECLARE
    run_month date;
    run_status text;
    last_number bigint;
    series text;
    n bigint;
    refusal text;
BEGIN
    IF OLD.status <> 'draft' THEN
        RETURN NEW;  -- issued → void only, every other column unchanged: 0004
    END IF;
    IF NEW.status = 'draft' THEN
        IF (NEW.run_id, NEW.customer_id, NEW.billing_month, NEW.replaces_id)
           IS DISTINCT FROM (OLD.run_id, OLD.customer_id, OLD.billing_month, OLD.replaces_id) THEN
            refusal := billing_invoice_draft_refusal(NEW);
            IF refusal IS NOT NULL THEN
                RAISE EXCEPTION '%', refusal USING ERRCODE = 'integrity_constraint_violation';
            END IF;
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.status <> 'issued' THEN
        RAISE EXCEPTION 'R12: draft invoice of % is issued or deleted, never made %', OLD.customer_code, NEW.status
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    -- draft → issued: what billing.services._issue does, and nothing else
    SELECT month, status, last_invoice_number INTO run_month, run_status, last_number
    FROM billing_billingrun WHERE id = NEW.run_id;
    IF run_month IS DISTINCT FROM NEW.billing_month THEN
        RAISE EXCEPTION 'R12: invoice % of % is issued in the run of its own month', NEW.number,
            to_char(NEW.billing_month, 'YYYY-MM')
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF NEW.issue_date IS NULL OR NEW.due_date IS NULL OR NEW.issued_at IS NULL THEN
        RAISE EXCEPTION 'R12: invoice % is issued with its issue date, due date and time of issue', NEW.number
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    -- SK-YYYYMM-NNNN, n from 1 to the counter, four digits at least (billing.services._next_number)
    series := 'SK-' || to_char(NEW.billing_month, 'YYYYMM') || '-';
    IF NEW.number ~ '^SK-[0-9]{6}-[0-9]{4,9}$' THEN
        n := substr(NEW.number, 11)::bigint;
    END IF;
    IF n IS NULL OR n < 1 OR n > last_number
       OR NEW.number <> series || (CASE WHEN n < 10000 THEN lpad(n::text, 4, '0') ELSE n::text END) THEN
        RAISE EXCEPTION 'R12: % is not a number of the series of % given by its counter (%0001 to %)',
            COALESCE(NEW.number, 'NULL'), to_char(NEW.billing_month, 'YYYY-MM'), series,
            CASE WHEN last_number > 0
                 THEN series || CASE WHEN last_number < 10000 THEN lpad(last_number::text, 4, '0')
                                     ELSE last_number::text END
                 ELSE 'none yet' END
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF run_status = 'issued' THEN
        refusal := billing_invoice_draft_refusal(NEW);
        IF refusal IS NOT NULL THEN
            RAISE EXCEPTION '%', refusal USING ERRCODE = 'integrity_constraint_violation';
        END IF;
    END IF;
    RETURN NEW;
END;
$$;

CREATE FUNCTION billing_run_counter() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.month IS DISTINCT FROM OLD.month THEN
        RAISE EXCEPTION 'R12: the month of run % never changes (% to %)', OLD.id, OLD.month, NEW.month
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF NEW.last_invoice_number < OLD.last_invoice_number THEN
        RAISE EXCEPTION 'R12: the invoice counter of % never goes back (% to %)', to_char(OLD.month, 'YYYY-MM'),
            OLD.last_invoice_number, NEW.last_invoice_number
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF OLD.status = 'issued'
       AND (NEW.issued_at, NEW.issued_by_id) IS DISTINCT FROM (OLD.issued_at, OLD.issued_by_id) THEN
        RAISE EXCEPTION 'R12: who issued % and when never changes', to_char(OLD.month, 'YYYY-MM')
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$;

-- at commit (deferred), once per new value of a run's counter: the run and its invoices as
-- they stand then
CREATE FUNCTION billing_run_numbers_gapless() RETURNS trigger
LANGUAGE plpgsql SET search_path = @SEARCH_PATH@ AS $$
DECLARE
    run billing_billingrun;
    numbered bigint;
BEGIN
    SELECT * INTO run FROM billing_billingrun WHERE id = NEW.id;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT count(*) INTO numbered FROM billing_invoice WHERE run_id = run.id AND number IS NOT NULL;
    IF numbered <> run.last_invoice_number THEN
        RAISE EXCEPTION 'R12: % has given % invoice numbers but % invoices carry one: the series is gapless',
            to_char(run.month, 'YYYY-MM'), run.last_invoice_number, numbered
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION billing_ratecard_approved_is_final() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.approved_by_id IS NULL THEN
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'R8: rate card % is approved and is never deleted', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF (NEW.approved_by_id, NEW.approved_on, NEW.created_by_id)
       IS DISTINCT FROM (OLD.approved_by_id, OLD.approved_on, OLD.created_by_id) THEN
        RAISE EXCEPTION 'R8: the approval and the author of approved rate card % never change', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF (NEW.contract_id, NEW.valid_from, NEW.base_fee, NEW.base_fee_currency, NEW.account_unit_price,
        NEW.account_unit_price_currency, NEW.auth_pricing)
       IS DISTINCT FROM (OLD.contract_id, OLD.valid_from, OLD.base_fee, OLD.base_fee_currency,
                         OLD.account_unit_price, OLD.account_unit_price_currency, OLD.auth_pricing) THEN
        RAISE EXCEPTION 'R8: rate card % is approved: its prices never change (enter a new card from a later month)',
            OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF (NEW.valid_until, NEW.notified_on) IS DISTINCT FROM (OLD.valid_until, OLD.notified_on)
       -- RateCard.approve of a pending change request: the requested values, the request cleared
       AND NOT (OLD.change_requested_by_id IS NOT NULL AND NEW.change_requested_by_id IS NULL
                AND NEW.valid_until IS NOT DISTINCT FROM OLD.requested_valid_until
                AND NEW.notified_on IS NOT DISTINCT FROM OLD.requested_notified_on)
       -- the first notification date needs no second approval
       AND NOT (OLD.notified_on IS NULL AND NEW.valid_until IS NOT DISTINCT FROM OLD.valid_until) THEN
        RAISE EXCEPTION 'R8: the last month and the notification date of approved rate card % change only when another staff member approves the requested change',
            OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE FUNCTION billing_authtier_of_approved_card() RETURNS trigger
LANGUAGE plpgsql SET search_path = @SEARCH_PATH@ AS $$
DECLARE
    card bigint;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        SELECT id INTO card FROM billing_ratecard WHERE id = OLD.rate_card_id AND approved_by_id IS NOT NULL;
    END IF;
    IF card IS NULL AND TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT id INTO card FROM billing_ratecard WHERE id = NEW.rate_card_id AND approved_by_id IS NOT NULL;
    END IF;
    IF card IS NOT NULL THEN
        RAISE EXCEPTION 'R8: rate card % is approved: its authentication price tiers never change', card
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$;
"""

TRIGGERS = r"""
CREATE TRIGGER billing_invoice_inserted
AFTER INSERT ON billing_invoice REFERENCING NEW TABLE AS new_invoices
FOR EACH STATEMENT EXECUTE FUNCTION billing_invoice_inserted();

CREATE TRIGGER billing_invoice_transition
BEFORE UPDATE ON billing_invoice
FOR EACH ROW EXECUTE FUNCTION billing_invoice_transition();

CREATE TRIGGER billing_run_counter
BEFORE UPDATE ON billing_billingrun
FOR EACH ROW EXECUTE FUNCTION billing_run_counter();

-- only a new value of the counter can open a gap: an invoice is numbered only up to the
-- counter (billing_invoice_transition), and a numbered invoice never changes or goes (0004)
CREATE CONSTRAINT TRIGGER billing_run_numbers_gapless_insert
AFTER INSERT ON billing_billingrun DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW WHEN (NEW.last_invoice_number <> 0) EXECUTE FUNCTION billing_run_numbers_gapless();

CREATE CONSTRAINT TRIGGER billing_run_numbers_gapless_update
AFTER UPDATE ON billing_billingrun DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW WHEN (NEW.last_invoice_number IS DISTINCT FROM OLD.last_invoice_number)
EXECUTE FUNCTION billing_run_numbers_gapless();

CREATE TRIGGER billing_ratecard_approved_is_final
BEFORE UPDATE OR DELETE ON billing_ratecard
FOR EACH ROW EXECUTE FUNCTION billing_ratecard_approved_is_final();

CREATE TRIGGER billing_authtier_of_approved_card
BEFORE INSERT OR UPDATE OR DELETE ON billing_authtier
FOR EACH ROW EXECUTE FUNCTION billing_authtier_of_approved_card();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS billing_authtier_of_approved_card ON billing_authtier;
DROP TRIGGER IF EXISTS billing_ratecard_approved_is_final ON billing_ratecard;
DROP TRIGGER IF EXISTS billing_run_numbers_gapless_update ON billing_billingrun;
DROP TRIGGER IF EXISTS billing_run_numbers_gapless_insert ON billing_billingrun;
DROP TRIGGER IF EXISTS billing_run_counter ON billing_billingrun;
DROP TRIGGER IF EXISTS billing_invoice_transition ON billing_invoice;
DROP TRIGGER IF EXISTS billing_invoice_inserted ON billing_invoice;
DROP FUNCTION IF EXISTS billing_authtier_of_approved_card();
DROP FUNCTION IF EXISTS billing_ratecard_approved_is_final();
DROP FUNCTION IF EXISTS billing_run_numbers_gapless();
DROP FUNCTION IF EXISTS billing_run_counter();
DROP FUNCTION IF EXISTS billing_invoice_transition();
DROP FUNCTION IF EXISTS billing_invoice_inserted();
DROP FUNCTION IF EXISTS billing_invoice_draft_refusal(billing_invoice);
"""


def _search_path(schema_editor) -> str:
    """pg_catalog, the schema the tables are in, and pg_temp last (never first)."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        (schema,) = cursor.fetchone()
    return f"pg_catalog, {schema_editor.quote_name(schema)}, pg_temp"


def _check_numbers_are_gapless(schema_editor) -> None:
    """The new commit-time check would refuse every later write of a run whose counter
    disagrees with its numbered invoices: stop here and name such months instead."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT to_char(r.month, 'YYYY-MM') FROM billing_billingrun r"
            " WHERE r.last_invoice_number <> (SELECT count(*) FROM billing_invoice i"
            "                                 WHERE i.run_id = r.id AND i.number IS NOT NULL)"
            " ORDER BY r.month"
        )
        months = [month for (month,) in cursor.fetchall()]
    if months:
        raise RuntimeError(
            "billing 0007: the invoice counter of %s does not match the invoices that carry a number; "
            "correct the data before migrating." % ", ".join(months)
        )


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    _check_numbers_are_gapless(schema_editor)
    path = _search_path(schema_editor)
    schema_editor.execute(FUNCTIONS.replace("@SEARCH_PATH@", path), params=None)
    schema_editor.execute(TRIGGERS, params=None)
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
    for function in EARLIER_FUNCTIONS:
        schema_editor.execute(f"ALTER FUNCTION {function} SET search_path = {path}", params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for function in EARLIER_FUNCTIONS:
        schema_editor.execute(f"ALTER FUNCTION {function} RESET search_path", params=None)
    for table in HISTORY_TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS smartkey_history_append_only ON {table}", params=None)
    for table in TABLES + HISTORY_TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS smartkey_no_truncate ON {table}", params=None)
    schema_editor.execute(BACKWARD, params=None)
    schema_editor.execute(
        "DROP FUNCTION IF EXISTS smartkey_history_append_only(); DROP FUNCTION IF EXISTS smartkey_refuse_truncate();",
        params=None,
    )


class Migration(migrations.Migration):
    dependencies = [("billing", "0006_rate_card_four_eyes"), ("contracts", "0003_audit_trail")]
    operations = [migrations.RunPython(forward, backward, elidable=False)]
