"""Rate card files as the four-eyes rule has them imported (issue 10): the author imports
the cards without approvals, then the approver imports the same rows with their own name
in ``approved_by`` (the approval dated the day of the import)."""

import csv
import io

from contracts.csvimport import run_import


def split_approvals(text: str) -> tuple[str, str]:
    """(the file the author imports, the file the approver imports) of a rate card file
    whose rows name their approver."""
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows:
        return text, text
    header = list(rows[0])

    def written(transform) -> str:
        out = io.StringIO()
        writer = csv.DictWriter(out, header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(transform(dict(row)) for row in rows)
        return out.getvalue()

    def entered(row):
        row.update({name: "" for name in ("approved_by", "approved_on") if name in row})
        return row

    def approved(row):
        if "approved_on" in row:
            row["approved_on"] = ""
        return row

    return written(entered), written(approved)


def import_rate_cards(text: str, *, author, approver, **options):
    """Import ``text`` as ``author`` enters it and ``approver`` approves it (each row's
    ``approved_by`` must then name ``approver`` or be empty)."""
    entered, approvals = split_approvals(text)
    run_import("rate_cards", entered.encode(), user=author, **options)
    return run_import("rate_cards", approvals.encode(), user=approver, **options)
