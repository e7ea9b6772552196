"""The Japanese fonts of the PDF documents: a TrueType font embedded in every PDF (a
subset of the glyphs used), so that the stored document reads the same on any viewer for
the years it is kept (R19).

The font is found, in order: the settings ``DOCUMENT_FONT_GOTHIC`` / ``DOCUMENT_FONT_MINCHO``
(paths), then the IPA fonts of the distribution's packages (Debian ``fonts-ipafont``,
``fonts-ipaexfont``). When none is there the PDF falls back to reportlab's built-in CID
fonts (HeiseiKakuGo-W5, HeiseiMin-W3), which are named but not embedded: the viewer
supplies them. That fallback is said, not hidden: ``manage.py check`` warns
(``billing.W010``), and the PDFs it makes record it in their metadata."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core import checks

#: TrueType fonts of the distributions' packages, in order of preference
GOTHIC_CANDIDATES = (
    "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
    "/usr/share/fonts/truetype/ipaexfont-gothic/ipaexg.ttf",
    "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
    "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
    "/usr/share/fonts/ipa-gothic/ipag.ttf",  # Fedora, RHEL
)
MINCHO_CANDIDATES = (
    "/usr/share/fonts/opentype/ipaexfont-mincho/ipaexm.ttf",
    "/usr/share/fonts/truetype/ipaexfont-mincho/ipaexm.ttf",
    "/usr/share/fonts/opentype/ipafont-mincho/ipam.ttf",
    "/usr/share/fonts/truetype/fonts-japanese-mincho.ttf",
    "/usr/share/fonts/ipa-mincho/ipam.ttf",
)
CID_GOTHIC, CID_MINCHO = "HeiseiKakuGo-W5", "HeiseiMin-W3"


@dataclass(frozen=True)
class Fonts:
    gothic: str
    mincho: str
    #: the TrueType files embedded, or None for the CID fallback
    gothic_path: str | None
    mincho_path: str | None

    @property
    def embedded(self) -> bool:
        return self.gothic_path is not None and self.mincho_path is not None


def _first(setting: str, candidates: tuple[str, ...]) -> str | None:
    configured = getattr(settings, setting, "")
    for path in (configured, *candidates) if configured else candidates:
        if path and Path(path).is_file():
            return path
    return None


@functools.cache
def document_fonts() -> Fonts:
    """The fonts registered with reportlab, once per process (reportlab is imported only
    when a PDF is made, not by the system checks)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFont

    gothic_path = _first("DOCUMENT_FONT_GOTHIC", GOTHIC_CANDIDATES)
    mincho_path = _first("DOCUMENT_FONT_MINCHO", MINCHO_CANDIDATES) or gothic_path
    if gothic_path is None:
        for name in (CID_GOTHIC, CID_MINCHO):
            if name not in pdfmetrics.getRegisteredFontNames():
                pdfmetrics.registerFont(UnicodeCIDFont(name))
        return Fonts(CID_GOTHIC, CID_MINCHO, None, None)
    pdfmetrics.registerFont(TTFont("SmartKeyGothic", gothic_path))
    pdfmetrics.registerFont(TTFont("SmartKeyMincho", mincho_path))
    return Fonts("SmartKeyGothic", "SmartKeyMincho", gothic_path, mincho_path)


@checks.register()
def check_document_fonts(app_configs, **kwargs):
    """A configured font that is not there is an error; no Japanese TrueType font at all a
    warning: the PDFs would name a font without embedding it."""
    problems = []
    for setting in ("DOCUMENT_FONT_GOTHIC", "DOCUMENT_FONT_MINCHO"):
        path = getattr(settings, setting, "")
        if path and not Path(path).is_file():
            problems.append(
                checks.Error(
                    f"{setting}: {path} is not a file.",
                    hint="Name a TrueType font (.ttf).",
                    id="billing.E010",
                )
            )
    if not any(
        Path(p).is_file() for p in (getattr(settings, "DOCUMENT_FONT_GOTHIC", ""), *GOTHIC_CANDIDATES) if p
    ):
        problems.append(
            checks.Warning(
                "No Japanese TrueType font is installed: PDFs name HeiseiKakuGo-W5 without embedding it.",
                hint="Install the distribution's IPA fonts (Debian: apt install fonts-ipafont) or set DOCUMENT_FONT_GOTHIC.",
                id="billing.W010",
            )
        )
    return problems
