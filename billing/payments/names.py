"""R17: payer names (振込依頼人名) compared after one normalisation: NFKC, half-width
katakana made full-width (jaconv), hiragana as katakana, upper case, small kana as large,
legal-form marks and words removed, spaces and punctuation removed. The table of legal
forms is written once, below, and normalised by the same steps."""

from __future__ import annotations

import re
import unicodedata

import jaconv

_SMALL_TO_LARGE = str.maketrans("ァィゥェォッャュョヮヵヶ", "アイウエオツヤユヨワカケ")

#: how the banks abbreviate a legal form in a payer name (ｶ) 株式会社, ﾕ) 有限会社, ﾄﾞ) 合同会社,
#: ﾒ) 合名会社, ｼ) 合資会社, ｲ) 医療法人, ｻﾞｲ) 財団法人, ｼﾔ) 社団法人), and the forms written out
LEGAL_FORM_MARKS = ("ｶ", "ﾕ", "ﾄﾞ", "ﾒ", "ｼ", "ｲ", "ｻﾞｲ", "ｼﾔ")
LEGAL_FORM_WORDS = (
    "ｶﾌﾞｼｷｶﾞｲｼﾔ",
    "ｶﾌﾞｼｷｶｲｼﾔ",
    "ﾕｳｹﾞﾝｶﾞｲｼﾔ",
    "ﾕｳｹﾞﾝｶｲｼﾔ",
    "ｺﾞｳﾄﾞｳｶﾞｲｼﾔ",
    "ｺﾞｳﾄﾞｳｶｲｼﾔ",
    "株式会社",
    "有限会社",
    "合同会社",
    "合名会社",
    "合資会社",
)

#: what is dropped before comparing: spaces, the long-vowel mark (banks print it as "-")
#: and punctuation
_DROP = re.compile(r"[\s\-‐－ー・.,，。、/／\\＼()（）「」｢｣'\"&＆]")


def _width_and_case(text: str) -> str:
    text = jaconv.h2z(text, kana=True, ascii=False, digit=False)  # ｶﾌﾞ → カブ (voicing joined)
    text = unicodedata.normalize("NFKC", text)  # full-width letters and digits → ASCII
    text = jaconv.hira2kata(text).upper()
    return text.translate(_SMALL_TO_LARGE).replace("ヰ", "イ").replace("ヱ", "エ")


_MARKS = "|".join(re.escape(_width_and_case(mark)) for mark in LEGAL_FORM_MARKS)
#: a mark before the name (ｶ)ﾌﾞﾗﾎﾞｰ), after it (ﾌﾞﾗﾎﾞｰ(ｶ) or inside it (ﾌﾞﾗﾎﾞｰ(ｶ)ﾎﾝｼﾔ)
_MARK_RE = re.compile(rf"^\s*(?:{_MARKS})\s*\)|\(\s*(?:{_MARKS})\s*(?:\)|$)")
_WORDS = tuple(sorted({_width_and_case(word) for word in LEGAL_FORM_WORDS}, key=len, reverse=True))


def normalize_payer_name(text: str) -> str:
    """The form two payer names are compared in (R17):
    ``ｶ)ﾌﾞﾗﾎﾞｰｺｳｷﾞﾖｳ`` and ``ブラボー工業``'s kana ``ﾌﾞﾗﾎﾞ-ｺｳｷﾞｮｳ(ｶ`` both → ``ブラボコウギヨウ``."""
    text = _width_and_case(text or "")
    text = _MARK_RE.sub("", text)
    for word in _WORDS:
        text = text.replace(word, "")
    return _DROP.sub("", text)
