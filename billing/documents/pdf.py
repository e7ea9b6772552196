"""The documents (invoice, credit note) as PDF (reportlab), with the same content as the
HTML page.

Japanese text is set in a TrueType font embedded in the PDF (``fonts``: the IPA fonts of
the distribution, or the one the settings name), with a clear fallback to reportlab's CID
fonts when none is installed. The bytes depend only on the content: reportlab's
invariant mode writes no creation time and no random document id, so the same document
renders to the same bytes (stored once at issue, R19). Contract codes and 御中 never break
inside a word.
"""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from django.utils import translation
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from billing.formatting import DOCUMENT_LANGUAGE

from .content import Document
from .fonts import document_fonts

FONTS = document_fonts()
GOTHIC, MINCHO = FONTS.gothic, FONTS.mincho

MARGIN = 16 * mm
WIDTH = A4[0] - 2 * MARGIN
GRID = colors.HexColor("#888888")
HEAD = colors.HexColor("#e8eef4")


def _style(name, size=9, leading=None, font=GOTHIC, align=None, wrap="CJK", **kwargs) -> ParagraphStyle:
    style = ParagraphStyle(
        name, fontName=font, fontSize=size, leading=leading or size * 1.45, wordWrap=wrap, **kwargs
    )
    if align is not None:
        style.alignment = align
    return style


TITLE = _style("title", 18, font=GOTHIC, align=TA_CENTER)
NORMAL = _style("normal")
SMALL = _style("small", 8)
RIGHT = _style("right", align=TA_RIGHT)
RECIPIENT = _style("recipient", 13, font=MINCHO)
TOTAL = _style("total", 14, align=TA_RIGHT)
#: a code is one word: broken at spaces only, never inside
CODE = _style("code", 8, wrap=None)


def _p(text: str, style: ParagraphStyle = NORMAL) -> Paragraph:
    return Paragraph(escape(text), style)


HONORIFIC = "御中"


def _recipient_name(name: str):
    """The recipient's name; a trailing 御中 kept whole, on the name's last line."""
    stem = name.removesuffix(HONORIFIC)
    if stem == name:
        return _p(name, RECIPIENT)
    table = Table(
        [[_p(stem.rstrip(), RECIPIENT), _p(HONORIFIC, _style("honorific", 13, font=MINCHO, wrap=None))]],
        colWidths=[WIDTH * 0.55 - 16 * mm, 16 * mm],
        hAlign="LEFT",
    )
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "BOTTOM"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return table


def render_pdf(doc: Document) -> bytes:
    """The PDF bytes of ``doc``, in the document language."""
    with translation.override(DOCUMENT_LANGUAGE):
        buffer = io.BytesIO()
        pdf = SimpleDocTemplate(
            buffer,
            pagesize=A4,
            leftMargin=MARGIN,
            rightMargin=MARGIN,
            topMargin=MARGIN,
            bottomMargin=MARGIN,
            title=" ".join([doc.title, doc.number or doc.stamp]),
            author=doc.issuer_name,
            subject=doc.billing_name,
            keywords="" if FONTS.embedded else "fonts not embedded (no Japanese TrueType font installed)",
            invariant=True,
        )
        stamp = doc.stamp

        def decorate(canvas, _document):
            canvas.saveState()
            canvas.setFont(GOTHIC, 7)
            canvas.setFillColor(colors.grey)
            canvas.drawRightString(
                A4[0] - MARGIN,
                MARGIN / 2,
                "  ".join([doc.number or _("(not issued)"), str(canvas.getPageNumber())]),
            )
            if stamp:
                canvas.setFillColor(colors.Color(0.8, 0.1, 0.1, alpha=0.25))
                canvas.setFont(GOTHIC, 96)
                canvas.translate(A4[0] / 2, A4[1] / 2)
                canvas.rotate(30)
                canvas.drawCentredString(0, 0, stamp)
            canvas.restoreState()

        pdf.build(_story(doc), onFirstPage=decorate, onLaterPages=decorate)
        return buffer.getvalue()


def _story(doc: Document) -> list:
    title = doc.title
    if doc.stamp:
        title += f"（{doc.stamp}）"
    story: list = [_p(title, TITLE), Spacer(1, 6 * mm)]

    recipient = [
        _p(f"〒{doc.postal_code}" if doc.postal_code else ""),
        _p(doc.address),
        Spacer(1, 2 * mm),
        _recipient_name(doc.billing_name),
        _p(_("Customer code") + ": " + doc.customer_code, SMALL),
    ]
    meta = Table(
        [
            [_p(doc.number_label), _p(doc.number or _("(not issued)"), RIGHT)],
            [_p(_("Issue date")), _p(doc.issue_date or _("(not issued)"), RIGHT)],
        ],
        colWidths=[28 * mm, 50 * mm],
    )
    seller = [
        meta,
        Spacer(1, 3 * mm),
        _p(doc.issuer_name),
        _p(doc.issuer_address, SMALL),
        _p(_("Registration number") + ": " + doc.issuer_registration_number),
    ]
    head = Table([[recipient, seller]], colWidths=[WIDTH * 0.55, WIDTH * 0.45])
    head.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story += [head, Spacer(1, 6 * mm), _p(doc.lead), Spacer(1, 2 * mm)]

    summary = Table(
        [
            [_p(label), _p(value, TOTAL if number == 0 else RIGHT)]
            for number, (label, value) in enumerate(doc.summary)
        ],
        colWidths=[45 * mm, 65 * mm],
        hAlign="LEFT",
    )
    summary.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 0.8, colors.black),
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, GRID),
                ("BACKGROUND", (0, 0), (0, -1), HEAD),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    story += [summary, Spacer(1, 3 * mm)]
    if doc.pay_into:
        account = Table(
            [[_p(_("Please pay into"), SMALL), ""]]
            + [[_p(label), _p(value)] for label, value in doc.pay_into],
            colWidths=[25 * mm, 85 * mm],
            hAlign="LEFT",
        )
        account.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 1), (-1, -1), 0.4, GRID),
                    ("BACKGROUND", (0, 1), (0, -1), HEAD),
                    ("SPAN", (0, 0), (-1, 0)),
                ]
            )
        )
        story.append(account)
    story.append(Spacer(1, 6 * mm))

    rows = [
        [
            _p(_("Contract")),
            _p(_("Item")),
            _p(_("Description")),
            _p(_("Quantity"), RIGHT),
            _p(_("Unit price (yen)"), RIGHT),
            _p(_("Amount (yen)"), RIGHT),
        ]
    ]
    for line in doc.lines:
        rows.append(
            [
                _p(line.contract_code, CODE),
                _p(line.item, SMALL),
                _p(line.description, SMALL),
                _p(line.quantity, RIGHT),
                _p(line.unit_price, RIGHT),
                _p(line.amount, RIGHT),
            ]
        )
    lines = Table(
        rows,
        colWidths=[18 * mm, 30 * mm, WIDTH - 114 * mm, 20 * mm, 22 * mm, 24 * mm],
        repeatRows=1,
    )
    lines.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, GRID),
                ("BACKGROUND", (0, 0), (-1, 0), HEAD),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story += [lines, Spacer(1, 4 * mm)]

    totals = []
    for rate in doc.rates:
        totals.append([_p(rate.label), _p(rate.taxable_text, RIGHT)])
        totals.append([_p(rate.tax_label), _p(rate.tax_text, RIGHT)])
    totals.append([_p(doc.total_label), _p(doc.total_text, RIGHT)])
    table = Table(totals, colWidths=[45 * mm, 35 * mm], hAlign="RIGHT")
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, GRID),
                ("BACKGROUND", (0, 0), (0, -1), HEAD),
                ("LINEABOVE", (0, -1), (-1, -1), 1, colors.black),
            ]
        )
    )
    story += [table, Spacer(1, 6 * mm)]
    story += [_p(f"※ {note}", SMALL) for note in doc.notes]
    return story
