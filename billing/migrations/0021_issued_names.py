"""The (customer name, customer code) pairs the issued documents carry (``IssuedName``),
kept by the database: the journal makes its sub-accounts from them instead of reading
every document ever issued (issue 16). On both databases triggers add the pair of an
invoice when it gets its number, or of a credit note when it is written, and of either
when its name or code changes; existing documents are copied in here.

- PostgreSQL: a row trigger on INSERT that fires only for a row that has a number and a
  name (``bill_month`` copies thousands of drafts in, which have none), and a statement
  trigger on UPDATE that adds the pairs of all the rows of the statement at once (issuing
  a month numbers every invoice in a few statements); an SP-GiST index of the names finds
  those starting with a cut text (``^@``). The pairs are never updated or deleted, nor
  the table truncated (as billing 0007's tables), and the functions that write them find
  the table in the tables' schema only.
- SQLite: row triggers, ``INSERT OR IGNORE``.
"""

from django.db import migrations, models

TABLES = ("billing_invoice", "billing_creditnote")
ISSUED = "{row}.number IS NOT NULL AND {row}.customer_name <> ''"

POSTGRESQL_FUNCTIONS = f"""
CREATE FUNCTION smartkey_issued_name_row() RETURNS trigger
LANGUAGE plpgsql SET search_path = @SEARCH_PATH@ AS $$
BEGIN
    INSERT INTO billing_issuedname (customer_name, customer_code)
    VALUES (NEW.customer_name, NEW.customer_code) ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE FUNCTION smartkey_issued_names_statement() RETURNS trigger
LANGUAGE plpgsql SET search_path = @SEARCH_PATH@ AS $$
BEGIN
    INSERT INTO billing_issuedname (customer_name, customer_code)
    SELECT DISTINCT customer_name, customer_code FROM issued WHERE {ISSUED.format(row="issued")}
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE FUNCTION billing_issuedname_kept() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'journal: % of %: a name an issued document carried is kept, so that its sub-account stays the same in every file',
        TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE TRIGGER billing_issuedname_kept BEFORE UPDATE OR DELETE ON billing_issuedname
FOR EACH ROW EXECUTE FUNCTION billing_issuedname_kept();
CREATE TRIGGER smartkey_no_truncate BEFORE TRUNCATE ON billing_issuedname
FOR EACH STATEMENT EXECUTE FUNCTION smartkey_refuse_truncate();
CREATE INDEX issued_name_spgist ON billing_issuedname USING spgist (customer_name);
"""

POSTGRESQL_TRIGGERS = (
    """CREATE TRIGGER {table}_issued_name AFTER INSERT ON {table} FOR EACH ROW
    WHEN ({when}) EXECUTE FUNCTION smartkey_issued_name_row()""",
    """CREATE TRIGGER {table}_issued_names AFTER UPDATE ON {table} REFERENCING NEW TABLE AS issued
    FOR EACH STATEMENT EXECUTE FUNCTION smartkey_issued_names_statement()""",
)

_SQLITE_ADD = """BEGIN
    INSERT OR IGNORE INTO billing_issuedname (customer_name, customer_code)
    VALUES (NEW.customer_name, NEW.customer_code);
END"""
SQLITE_TRIGGERS = (
    "CREATE TRIGGER {table}_issued_name AFTER INSERT ON {table} WHEN {when} " + _SQLITE_ADD,
    "CREATE TRIGGER {table}_issued_name_changed AFTER UPDATE OF number, customer_name, customer_code "
    "ON {table} WHEN {when} " + _SQLITE_ADD,
)

COPY_EXISTING = " UNION ".join(
    f"SELECT customer_name, customer_code FROM {table} WHERE {ISSUED.format(row=table)}" for table in TABLES
)


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("SELECT current_schema()")
            (schema,) = cursor.fetchone()
        # as billing 0007: the functions that write a table find it in the tables' schema,
        # never in pg_temp
        path = f"pg_catalog, {schema_editor.quote_name(schema)}, pg_temp"
        schema_editor.execute(POSTGRESQL_FUNCTIONS.replace("@SEARCH_PATH@", path), params=None)
        triggers = POSTGRESQL_TRIGGERS
    elif vendor == "sqlite":
        triggers = SQLITE_TRIGGERS
    else:
        raise NotImplementedError(f"billing 0021: no triggers for {vendor}")
    for table in TABLES:
        for trigger in triggers:
            schema_editor.execute(trigger.format(table=table, when=ISSUED.format(row="NEW")), params=None)
    schema_editor.execute(
        f"INSERT INTO billing_issuedname (customer_name, customer_code) {COPY_EXISTING}", params=None
    )


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table in TABLES:
        for name in ("issued_name", "issued_names", "issued_name_changed"):
            suffix = f" ON {table}" if vendor == "postgresql" else ""
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_{name}{suffix}", params=None)
    if vendor == "postgresql":
        schema_editor.execute(
            "DROP FUNCTION IF EXISTS smartkey_issued_names_statement(); DROP FUNCTION IF EXISTS smartkey_issued_name_row();"
            " DROP TRIGGER IF EXISTS billing_issuedname_kept ON billing_issuedname;"
            " DROP TRIGGER IF EXISTS smartkey_no_truncate ON billing_issuedname;"
            " DROP FUNCTION IF EXISTS billing_issuedname_kept()",
            params=None,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0020_postgresql_draft_changes"),
    ]

    operations = [
        migrations.CreateModel(
            name="IssuedName",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("customer_name", models.CharField(max_length=200, verbose_name="customer name")),
                ("customer_code", models.CharField(max_length=32, verbose_name="customer code")),
            ],
            options={
                "verbose_name": "issued customer name",
                "verbose_name_plural": "issued customer names",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("customer_name", "customer_code"), name="issued_name_once"
                    )
                ],
            },
        ),
        migrations.RunPython(forward, backward, elidable=False),
    ]
