"""R19: every issued invoice and credit note is rendered once, kept byte for byte with its
SHA-256, and handed out from what was kept: downloads, whatever the code renders later.
The PDF embeds its Japanese font; nothing changes or deletes a kept document."""

import datetime as dt
import hashlib
import io

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from pypdf import PdfReader

from billing import runs
from billing.documents import fonts
from billing.documents.store import pdf_bytes, store_month
from billing.models import DocumentTampered, Invoice, StoredDocument
from billing.models.documents import StoredDocumentImmutable
from contracts.models import Customer

from .october import OCTOBER, october

pytestmark = pytest.mark.django_db


def issued_by_the_command(tmp_path):
    october(tmp_path)
    out = io.StringIO()
    call_command("bill_month", "2026-10", "--issue", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_issuing_keeps_every_pdf_with_its_hash(tmp_path, staff_client):
    output = issued_by_the_command(tmp_path)
    assert "保管した書類（PDF、SHA-256）: 3" in output
    kept = list(StoredDocument.objects.order_by("number"))
    assert [(d.number, d.kind, d.customer_code, d.amount.amount) for d in kept] == [
        ("SK-202610-0001", "invoice", "C1", 120859),
        ("SK-202610-0002", "invoice", "C2", 101200),
        ("SK-202610-0003", "invoice", "C4", 1100),
    ]
    for document in kept:
        data = document.read()
        assert data.startswith(b"%PDF-") and hashlib.sha256(data).hexdigest() == document.sha256
        assert document.size == len(data)
    invoice = Invoice.objects.get(number="SK-202610-0001")
    url = reverse("admin:billing_invoice_pdf", args=[invoice.pk])
    assert staff_client.get(url).content == staff_client.get(url).content == kept[0].read()
    assert store_month(OCTOBER) == 0  # nothing left to store


def test_a_later_rendering_never_changes_what_is_handed_out(tmp_path, staff_client, monkeypatch):
    issued_by_the_command(tmp_path)
    invoice = Invoice.objects.get(number="SK-202610-0002")
    before = pdf_bytes(invoice)
    # a new version of the template, the settings or the code: what was issued stays
    monkeypatch.setattr("billing.documents.pdf.render_pdf", lambda doc: b"%PDF-1.4 another rendering")
    Customer.objects.filter(code="C2").update(name="ベータ商事ホールディングス株式会社")
    response = staff_client.get(reverse("admin:billing_invoice_pdf", args=[invoice.pk]))
    assert response.content == before


def test_the_same_document_renders_to_the_same_bytes(tmp_path):
    """reportlab's invariant mode: no creation time, no random id, so a document rendered
    twice is the same file (and a stored one can be checked against a new rendering)."""
    from billing.documents.content import invoice_document
    from billing.documents.pdf import render_pdf

    october(tmp_path, issue=True)
    invoice = Invoice.objects.get(number="SK-202610-0001")
    first = render_pdf(invoice_document(invoice, as_issued=True))
    assert render_pdf(invoice_document(invoice, as_issued=True)) == first
    assert pdf_bytes(invoice) == first


def test_fonts_are_embedded(tmp_path):
    if not fonts.document_fonts().embedded:
        pytest.skip("no Japanese TrueType font on this machine (Debian: apt install fonts-ipafont)")
    issued_by_the_command(tmp_path)
    reader = PdfReader(io.BytesIO(StoredDocument.objects.get(number="SK-202610-0001").read()))
    embedded = []
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            # reportlab writes a TrueType subset as a simple font with its file in the descriptor
            descriptors = (
                [font["/FontDescriptor"]]
                if "/FontDescriptor" in font
                else [d.get_object()["/FontDescriptor"] for d in font.get("/DescendantFonts", [])]
            )
            embedded += ["/FontFile2" in d.get_object() for d in descriptors]
    assert embedded and all(embedded)


def test_without_a_japanese_font_the_check_says_so(settings, monkeypatch):
    monkeypatch.setattr(fonts, "GOTHIC_CANDIDATES", ("/nonexistent/ipag.ttf",))
    settings.DOCUMENT_FONT_GOTHIC = ""
    assert [w.id for w in fonts.check_document_fonts(None)] == ["billing.W010"]
    settings.DOCUMENT_FONT_GOTHIC = "/nonexistent/font.ttf"
    assert [w.id for w in fonts.check_document_fonts(None)] == ["billing.E010", "billing.W010"]


def test_the_recipients_honorific_is_never_broken(tmp_path):
    october(tmp_path)
    # a name long enough to wrap in the recipient's box
    Customer.objects.filter(code="C1").update(
        billing_name="株式会社アルファベータガンマデルタイプシロンゼータエータシータ 経理部 御中"
    )
    runs.billing_month_compute(month=OCTOBER)
    runs.billing_month_issue(month=OCTOBER, today=dt.date(2026, 11, 2))
    text = PdfReader(io.BytesIO(pdf_bytes(Invoice.objects.get(customer_code="C1")))).pages[0].extract_text()
    lines = text.splitlines()
    assert any("御中" in line for line in lines)
    assert not any(line.rstrip().endswith("御") for line in lines)


def test_a_kept_document_never_changes(tmp_path):
    issued_by_the_command(tmp_path)
    document = StoredDocument.objects.get(number="SK-202610-0001")
    with pytest.raises(StoredDocumentImmutable):
        document.save()
    with pytest.raises(StoredDocumentImmutable):
        document.delete()
    with pytest.raises(StoredDocumentImmutable):
        StoredDocument.objects.filter(pk=document.pk).update(sha256="0" * 64)
    with pytest.raises(StoredDocumentImmutable):
        StoredDocument.objects.all().delete()


@pytest.mark.postgres
def test_postgresql_refuses_changing_or_deleting_a_kept_document(tmp_path):
    issued_by_the_command(tmp_path)
    document = StoredDocument.objects.get(number="SK-202610-0001")
    for statement in (
        "UPDATE billing_storeddocument SET sha256 = 'x' WHERE id = %s",
        "DELETE FROM billing_storeddocument WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="R19"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [document.pk])
    assert StoredDocument.objects.get(pk=document.pk).read() == document.read()


def test_bytes_that_no_longer_match_their_hash_are_refused(tmp_path):
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL refuses the change itself (test above)")
    issued_by_the_command(tmp_path)
    document = StoredDocument.objects.get(number="SK-202610-0001")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE billing_storeddocument SET content = %s WHERE id = %s", [b"%PDF-forged", document.pk]
        )
    with pytest.raises(DocumentTampered, match="SK-202610-0001"):
        StoredDocument.objects.get(pk=document.pk).read()


def test_kept_in_the_storage_instead_of_the_database(tmp_path, settings):
    settings.DOCUMENT_STORAGE = "storage"
    settings.STORAGES = {**settings.STORAGES, "documents": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path / "kept")}
    }}  # fmt: skip
    issued_by_the_command(tmp_path)
    document = StoredDocument.objects.get(number="SK-202610-0003")
    assert document.path.startswith("documents/2026/") and bytes(document.content) == b""
    on_disk = (tmp_path / "kept" / document.path).read_bytes()
    assert on_disk == document.read() and hashlib.sha256(on_disk).hexdigest() == document.sha256


def test_credit_notes_and_replacements_are_kept_when_issued(tmp_path):
    october(tmp_path, issue=True)
    note = runs.credit_note_issue(
        invoice=Invoice.objects.get(number="SK-202610-0001"), amount=12345, reason="値引き", by=None
    )
    assert StoredDocument.objects.get(credit_note=note).amount.amount == 13579
    old = Invoice.objects.get(number="SK-202610-0002")
    new = runs.invoice_void_and_replace(invoice=old, by=None, reason="宛名", today=dt.date(2026, 11, 9))
    # the voided invoice's copy as issued, and its replacement's
    assert set(StoredDocument.objects.filter(invoice__in=[old, new]).values_list("number", flat=True)) == {
        "SK-202610-0002",
        "SK-202610-0004",
    }
