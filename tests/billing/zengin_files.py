"""Zengin bank files for tests, written byte by byte, field by field, each record with
its layout as the banks publish it (number: right-aligned, zero-filled; text: CP932,
left-aligned, space-filled). Written out here rather than taken from the parser's table,
so that a wrong offset in the parser fails the tests."""

from __future__ import annotations


def N(value, width: int) -> bytes:
    text = str(value)
    assert text.isdigit() and len(text) <= width, (value, width)
    return text.rjust(width, "0").encode("ascii")


def C(text: str, width: int) -> bytes:
    data = text.encode("cp932")
    assert len(data) <= width, (text, width)
    return data.ljust(width, b" ")


def record(*fields: bytes) -> bytes:
    data = b"".join(fields)
    assert len(data) == 200, len(data)
    return data


# --- 振込入金通知 (種別コード 01) ------------------------------------------------------------


def transfer_header(*, created="081201", first="081201", last="081201", account="1234567") -> bytes:
    return record(
        N(1, 1),  # データ区分: header
        N("01", 2),  # 種別コード: 振込入金通知
        N(0, 1),  # コード区分: JIS
        N(created, 6),  # 作成日 (和暦 YYMMDD)
        N(first, 6),  # 勘定日(自)
        N(last, 6),  # 勘定日(至)
        N("0001", 4),  # 銀行コード
        C("ﾐｽﾞﾎ", 15),  # 銀行名
        N("123", 3),  # 支店コード
        C("ｲｲﾀﾞﾊﾞｼ", 15),  # 支店名
        N(1, 1),  # 預金種目: 普通
        N(account, 7),  # 口座番号
        C("ｶ)ｲﾝﾀｰﾈﾂﾄｲﾆｼｱﾃｲﾌﾞ", 40),  # 口座名
        C("", 93),  # ダミー
    )


def transfer(
    number: int, day: str, amount: int, payer: str, edi: str = "", *, cancelled: bool = False
) -> bytes:
    return record(
        N(2, 1),  # データ区分: data
        N(number, 6),  # 照会番号
        N(day, 6),  # 勘定日
        N(day, 6),  # 起算日
        N(amount, 10),  # 金額
        N(0, 10),  # うち他店券金額
        C("", 10),  # 振込依頼人コード
        C(payer, 48),  # 振込依頼人名
        C("ﾐﾂｲｽﾐﾄﾓ", 15),  # 仕向銀行名
        C("ﾎﾝﾃﾝ", 15),  # 仕向店名
        C("1" if cancelled else "", 1),  # 取消区分
        C(edi, 20),  # EDI情報
        C("", 52),  # ダミー
    )


def transfer_trailer(count: int, total: int, cancelled_count: int = 0, cancelled_total: int = 0) -> bytes:
    return record(
        N(8, 1),  # データ区分: trailer
        N(count, 6),  # 振込合計件数
        N(total, 12),  # 振込合計金額
        N(cancelled_count, 6),  # 取消合計件数
        N(cancelled_total, 12),  # 取消合計金額
        C("", 163),  # ダミー
    )


def end() -> bytes:
    return record(N(9, 1), C("", 199))


# --- 入出金取引明細 (種別コード 03) ------------------------------------------------------------


def statement_header(*, created="081201", first="081201", last="081201") -> bytes:
    return record(
        N(1, 1),  # データ区分
        N("03", 2),  # 種別コード: 入出金取引明細
        N(0, 1),  # コード区分
        N(created, 6),  # 作成日
        N(first, 6),  # 勘定日(自)
        N(last, 6),  # 勘定日(至)
        N("0001", 4),  # 銀行コード
        C("ﾐｽﾞﾎ", 15),  # 銀行名
        N("123", 3),  # 支店コード
        C("ｲｲﾀﾞﾊﾞｼ", 15),  # 支店名
        N(0, 3),  # ダミー
        N(1, 1),  # 預金種目
        N("1234567", 7),  # 口座番号
        C("ｶ)ｲﾝﾀｰﾈﾂﾄｲﾆｼｱﾃｲﾌﾞ", 40),  # 口座名
        C("", 1),  # 貸越区分
        C("", 1),  # 通帳・証書区分
        N(0, 14),  # 取引前残高
        C("", 74),  # ダミー
    )


def statement(number: int, day: str, amount: int, payer: str, edi: str = "", *, credit: bool = True) -> bytes:
    return record(
        N(2, 1),  # データ区分
        N(number, 8),  # 照会番号
        N(day, 6),  # 勘定日
        N(day, 6),  # 預入・払出日
        N(1 if credit else 2, 1),  # 入払区分: 1 入金, 2 出金
        N(11, 2),  # 取引区分: 振込
        N(amount, 12),  # 取引金額
        N(0, 12),  # うち他店券金額
        N(0, 6),  # 交換呈示日
        N(0, 6),  # 不渡返還日
        C("", 1),  # 手形・小切手区分
        C("", 7),  # 手形・小切手番号
        C("", 3),  # 僚店番号
        C("", 10),  # 振込依頼人コード
        C(payer, 48),  # 振込依頼人名
        C("ﾐﾂｲｽﾐﾄﾓ", 15),  # 仕向銀行名
        C("ﾎﾝﾃﾝ", 15),  # 仕向店名
        C("ﾌﾘｺﾐ", 20),  # 摘要内容
        C(edi, 20),  # EDI情報
        C("", 1),  # ダミー
    )


def statement_trailer(credits: int, credit_total: int, debits: int, debit_total: int, records: int) -> bytes:
    return record(
        N(8, 1),  # データ区分
        N(credits, 6),  # 入金件数
        N(credit_total, 13),  # 入金額合計
        N(debits, 6),  # 出金件数
        N(debit_total, 13),  # 出金額合計
        C("", 1),  # 貸越区分
        N(0, 14),  # 取引後残高
        N(records, 7),  # データレコード件数
        C("", 139),  # ダミー
    )


def transfer_file(*transfers: tuple, crlf: bool = True, **header) -> bytes:
    """A 振込入金通知 file of ``transfers`` (number, day, amount, payer[, edi]), its trailer
    counting them."""
    records = [transfer_header(**header), *(transfer(*t) for t in transfers)]
    records += [transfer_trailer(len(transfers), sum(t[2] for t in transfers)), end()]
    return (b"\r\n" if crlf else b"").join(records) + (b"\r\n" if crlf else b"")
