"""The main paths in a real browser (Chromium from the distribution, driven by
Playwright) against a live server, in Japanese:

1. a sales user enters a customer with its IIJ ID Service contract, a contract with
   its conditions of use, and a rate card;
2. a second sales user approves the rate card;
3. an accountant computes the month, issues it and downloads the CSV.

On every page they visit, and on the pages whose inline scripts and styles were moved
for it (dashboard, usage charts, invoice document, history, language switch), the
browser reports no Content-Security-Policy violation.

The window is 1366×768, the smallest screen staff use. Screenshots of the screens the
README shows are saved under tests/e2e/screenshots/; of a failing step, under
test-artifacts/."""

import csv
import io
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from billing.models import Invoice, RateCard
from billing.roles import ACCOUNTING, SALES
from contracts.models import Contract
from tests.billing.october import october

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"
SCREENSHOTS = Path(settings.BASE_DIR) / "tests" / "e2e" / "screenshots"
VIEWPORT = {"width": 1366, "height": 768}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason="needs Chromium (.ci/run installs the chromium package)"
    ),
]


@pytest.fixture
def browser(monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the live server and the
    # test's own ORM calls are ordinary synchronous Django. Only for this test.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request):
    # a browser in Japan: the date widgets add no "9 hours behind the server" note
    context = browser.new_context(
        locale="ja-JP", timezone_id="Asia/Tokyo", accept_downloads=True, viewport=VIEWPORT
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


CSP_WATCH = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportCspViolation(
    `${location.pathname}: ${event.violatedDirective} blocked ${event.blockedURI || "inline"}` +
    ` (${event.sample})`
  );
});
"""


@pytest.fixture
def csp_violations(page):
    """Every Content-Security-Policy violation on the pages ``page`` visits, as the page's
    securitypolicyviolation events and Chromium's console report them."""
    violations = []
    page.context.expose_binding("reportCspViolation", lambda source, text: violations.append(text))
    page.context.add_init_script(CSP_WATCH)
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return violations


@pytest.fixture
def staff(db):
    users = {}
    for name, role in (("sales1", SALES), ("sales2", SALES), ("keiri1", ACCOUNTING)):
        user = get_user_model().objects.create_user(name, password="pw-browser-1", is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        users[name] = user
    return users


def login(page, live_server, username):
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/admin/login/")
    assert "ユーザー名" in page.content()
    page.fill("#id_username", username)
    page.fill("#id_password", "pw-browser-1")
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")
    assert "IIJ SmartKey マネージメントサービス 管理画面" in page.inner_text("#site-name")


def choose(page, field, text):
    """Pick ``text`` in an autocomplete (select2) field."""
    page.click(f"span[aria-labelledby='select2-id_{field}-container']")
    page.fill(".select2-search__field", text)
    page.click(f".select2-results__option:has-text('{text}')")


def screenshot(page, name):
    """The page as the README shows it (tests/e2e/screenshots/NAME.png), the whole page."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def success_message(page):
    return page.inner_text("ul.messagelist")


def test_sales_enter_and_approve_then_accounting_bills_issues_and_downloads(
    page, live_server, staff, tmp_path, csp_violations
):
    # 1. sales1: customer with IIJ ID Service contract
    login(page, live_server, "sales1")
    page.goto(f"{live_server.url}/admin/contracts/customer/add/")
    assert "顧客 を追加" in page.content()
    page.fill("#id_code", "C-BROWSER")
    page.fill("#id_name", "ブラウザ商事株式会社")
    page.fill("#id_billing_name", "ブラウザ商事株式会社 経理部 御中")
    page.click("text=IIJ IDサービス契約 の追加")
    page.fill("#id_iijid_contracts-0-code", "ID-BROWSER")
    page.fill("#id_iijid_contracts-0-start_on", "2026-01-01")
    page.click("input[name=_save]")
    assert "追加しました" in success_message(page)

    # the contract, accepted, every condition of use confirmed, billing from 2026-10-01
    page.goto(f"{live_server.url}/admin/contracts/contract/add/")
    page.fill("#id_code", "SK-BROWSER")
    choose(page, "customer", "C-BROWSER")
    page.select_option("#id_item", "enterprise")
    page.fill("#id_applied_on", "2026-09-01")
    page.fill("#id_accepted_on", "2026-09-05")
    for field in (
        "devices_prepared",
        "devices_configured",
        "software_obtained",
        "settings_made",
        "other_conditions_met",
        "licence_accepted",
    ):
        page.fill(f"#id_{field}_confirmed_on", "2026-09-20")
    page.fill("#id_billing_start_on", "2026-10-01")
    page.click("input[name=_save]")
    assert "追加しました" in success_message(page)
    page.goto(f"{live_server.url}/admin/contracts/contract/?q=SK-BROWSER")
    assert "エンタープライズ" in page.inner_text("#result_list")

    # the rate card shown to the contractor: base fee 30,000 yen, 300 yen per account
    page.goto(f"{live_server.url}/admin/billing/ratecard/add/")
    assert "別途契約者に示す金額" in page.content()
    choose(page, "contract", "SK-BROWSER")
    page.fill("#id_valid_from", "2026-10")  # the month picker
    page.fill("#id_base_fee_0", "30000")
    page.fill("#id_account_unit_price_0", "300")
    page.fill("#id_notified_on", "2026-09-25")
    page.click("input[name=_save]")
    assert "追加しました" in success_message(page)
    card = RateCard.objects.get(contract__code="SK-BROWSER")
    assert card.created_by == staff["sales1"] and card.approved_by is None

    # the author cannot approve their own card
    page.goto(f"{live_server.url}/admin/billing/ratecard/")
    page.check(f"input[name=_selected_action][value='{card.pk}']")
    page.select_option("select[name=action]", "approve_selected")
    page.click("button[name=index]")
    assert "0件完了、1件は拒否されました。" in success_message(page)
    assert "別の担当者が承認してください" in success_message(page)

    # 2. sales2 approves it
    login(page, live_server, "sales2")
    page.goto(f"{live_server.url}/admin/billing/ratecard/")
    page.check(f"input[name=_selected_action][value='{card.pk}']")
    page.select_option("select[name=action]", "approve_selected")
    page.click("button[name=index]")
    assert "1件完了、0件は拒否されました。" in success_message(page)
    card.refresh_from_db()
    assert card.approved_by == staff["sales2"]

    # 3. keiri1 computes October 2026
    login(page, live_server, "keiri1")
    page.goto(f"{live_server.url}/admin/billing/billingrun/")
    page.click("text=月次請求を計算する")
    page.fill("#id_month", "2026-10")
    page.click("input[type=submit]")
    # full month: base 30,000 + no accounts; tax 3,000
    assert "2026年10月を計算しました: 請求書（下書き）1件、33,000円、要対応事項0件。" in success_message(page)

    # ... issues it, after a confirmation of what issuing will do
    page.goto(f"{live_server.url}/admin/billing/billingrun/")
    page.check("input[name=_selected_action]")
    page.select_option("select[name=action]", "issue_selected")
    page.click("button[name=index]")
    page.wait_for_selector("#issue-summary")
    summary = page.inner_text("#issue-summary")
    assert "2026年10月" in summary and "33,000円" in summary
    assert "SK-202610-0001 〜 SK-202610-0001" in summary
    assert "未対応の要対応事項 0件" in page.content()
    assert not Invoice.objects.filter(number__isnull=False).exists()  # nothing issued yet
    screenshot(page, "issue-confirmation")
    page.click("#issue-confirm")
    assert (
        "2026年10月を発行しました: 請求書1件、請求書番号 SK-202610-0001〜SK-202610-0001、合計33,000円。"
        in success_message(page)
    )
    invoice = Invoice.objects.get()
    assert (invoice.status, invoice.number) == ("issued", "SK-202610-0001")
    page.goto(f"{live_server.url}/admin/billing/billingrun/")
    assert "発行済み" in page.inner_text("#result_list")

    # ... and downloads the CSV
    with page.expect_download() as download_info:
        page.click("#result_list a:has-text('明細')")
    path = tmp_path / "download.csv"
    download_info.value.save_as(path)
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert [(r["invoice_number"], r["line_type"], r["amount"], r["invoice_total"]) for r in rows] == [
        ("SK-202610-0001", "initial_fee", "0", "33000"),
        ("SK-202610-0001", "base_fee", "30000", "33000"),
        ("SK-202610-0001", "account_fee", "0", "33000"),
    ]

    # the invoice page shows it in Japanese, read-only
    page.goto(f"{live_server.url}/admin/billing/invoice/{invoice.pk}/change/")
    content = page.content()
    assert "SK-202610-0001" in content and "ブラウザ商事株式会社 経理部 御中" in content
    assert "取り消して再発行する" in content

    assert csp_violations == []


def test_the_pages_made_to_fit_the_content_security_policy_work_without_violation(
    page, live_server, tmp_path, csp_violations
):
    october(tmp_path, issue=True)
    get_user_model().objects.create_superuser("admin", "admin@example.jp", "pw-browser-1")
    login(page, live_server, "admin")

    # the dashboard's charts, sized by the stylesheet instead of a style attribute
    assert page.locator("figure.smartkey-chart > svg").count() >= 1
    screenshot(page, "dashboard")

    # a contract's usage charts, in the padded box a style attribute used to make
    contract = Contract.objects.get(code="E1")
    page.goto(f"{live_server.url}/admin/contracts/contract/{contract.pk}/change/")
    assert page.eval_on_selector(".smartkey-usage", "e => getComputedStyle(e).paddingTop") != "0px"

    # the invoice document: its <style> applies (by nonce), its print button prints
    invoice = Invoice.objects.order_by("number").first()
    page.goto(f"{live_server.url}/admin/billing/invoice/{invoice.pk}/document/")
    assert page.eval_on_selector(".toolbar", "e => getComputedStyle(e).display") == "flex"
    screenshot(page, "invoice-document")
    page.evaluate("window.print = () => { window.printed = true; }")
    page.click("button[data-print]")
    assert page.evaluate("window.printed") is True

    # django-simple-history's page, with its one style attribute allowed by hash
    page.goto(f"{live_server.url}/admin/billing/invoice/{invoice.pk}/history/")
    assert page.eval_on_selector("p.paginator", "e => getComputedStyle(e).borderTopWidth") == "0px"

    # the language switch submits itself when a language is chosen
    with page.expect_navigation():
        page.select_option("#language-switch", "en")
    assert "IIJ SmartKey Management Service back office" in page.inner_text("#site-name")

    assert csp_violations == []


def test_staff_type_dates_as_they_write_them_approve_on_the_card_and_see_only_what_they_may(
    page, live_server, staff, csp_violations
):
    """Issue 15: dates typed as Japanese staff type them and months from the month picker
    (item 1), a rate card approved from its own page (item 8), and a Viewer who sees no
    link it cannot follow and a Japanese refusal where it types one (item 6)."""
    import datetime as dt

    from billing.runs import billing_month_compute
    from tests.contracts.factories import CustomerFactory

    CustomerFactory(code="C-WAREKI", billing_name="和暦商事株式会社 御中")

    # 1. sales1 types the contract's dates in every way staff write them
    login(page, live_server, "sales1")
    page.goto(f"{live_server.url}/admin/contracts/contract/add/")
    assert "例: 2026-11-10（2026/11/10、R8.11.10、令和8年11月10日 の形でも入力できます）" in page.content()
    page.fill("#id_code", "SK-WAREKI")
    choose(page, "customer", "C-WAREKI")
    page.select_option("#id_item", "enterprise")
    page.fill("#id_applied_on", "2026/09/01")
    page.fill("#id_accepted_on", "R8.9.5")
    for field in (
        "devices_prepared",
        "devices_configured",
        "software_obtained",
        "settings_made",
        "other_conditions_met",
        "licence_accepted",
    ):
        page.fill(f"#id_{field}_confirmed_on", "令和8年9月20日")
    page.fill("#id_billing_start_on", "２０２６－１０－０１")
    screenshot(page, "japanese-dates")
    page.click("input[name=_save]")
    assert "追加しました" in success_message(page)
    contract = Contract.objects.get(code="SK-WAREKI")
    assert (contract.applied_on, contract.accepted_on, contract.billing_start_on) == (
        dt.date(2026, 9, 1),
        dt.date(2026, 9, 5),
        dt.date(2026, 10, 1),
    )
    assert contract.licence_accepted_confirmed_on == dt.date(2026, 9, 20)

    # ... and the rate card's first month with the month picker
    page.goto(f"{live_server.url}/admin/billing/ratecard/add/")
    assert page.get_attribute("#id_valid_from", "type") == "month"
    choose(page, "contract", "SK-WAREKI")
    page.fill("#id_valid_from", "2026-10")
    page.fill("#id_base_fee_0", "30000")
    page.fill("#id_account_unit_price_0", "250.5")
    page.fill("#id_notified_on", "R8.9.25")
    page.click("input[name=_save]")
    assert "追加しました" in success_message(page)
    card = RateCard.objects.get(contract=contract)
    assert (card.valid_from, card.notified_on) == (dt.date(2026, 10, 1), dt.date(2026, 9, 25))

    # 2. sales2 approves it from the card's page, which names who entered and approved it
    login(page, live_server, "sales2")
    page.goto(f"{live_server.url}/admin/billing/ratecard/{card.pk}/change/")
    page.click("#approve-card")
    assert "が承認しました。" in success_message(page)
    card.refresh_from_db()
    assert card.approved_by == staff["sales2"]
    content = page.content()
    assert "sales1" in content and "sales2（" in content and 'id="approve-card"' not in content
    assert "¥250.5" in content  # its unit price with its decimals, now read only
    screenshot(page, "ratecard-approval")

    # 3. an accountant sees who computed the month as a name, not as a link to the user
    # admin it may not open (it led to a bare 403); a Viewer sees the month without its CSV
    # links, and typing one is refused in Japanese
    accountant = get_user_model().objects.create_user("keiri9", password="pw-browser-1", is_staff=True)
    accountant.groups.add(Group.objects.get(name=ACCOUNTING))
    billing_month_compute(month=dt.date(2026, 10, 1), by=accountant)
    login(page, live_server, "keiri9")
    page.goto(f"{live_server.url}/admin/billing/billingrun/")
    page.click("#result_list a:has-text('2026年10月')")
    assert "keiri9" in page.inner_text("div.field-computed_by_staff_name")
    assert page.locator("#content a[href*='/admin/auth/user/']").count() == 0
    viewer = get_user_model().objects.create_user("viewer1", password="pw-browser-1", is_staff=True)
    viewer.groups.add(Group.objects.get(name="Viewer"))
    login(page, live_server, "viewer1")
    page.goto(f"{live_server.url}/admin/billing/billingrun/")
    assert page.locator("#result_list a:has-text('明細')").count() == 0
    from billing.models import BillingRun

    run_pk = BillingRun.objects.get().pk
    page.goto(f"{live_server.url}/admin/billing/billingrun/{run_pk}/change/")
    assert page.locator("a[href*='/export/']").count() == 0
    page.goto(f"{live_server.url}/admin/billing/billingrun/{run_pk}/export/lines/")
    assert "この操作を行う権限がありません" in page.inner_text("#content")
    assert "IIJ SmartKey マネージメントサービス 管理画面" in page.inner_text("#site-name")
    screenshot(page, "forbidden")

    assert csp_violations == []


#: every changelist, read at 1366 px: no column squeezed to a character per line, the last
#: column on screen without scrolling sideways
CHANGELISTS = (
    "contracts/customer",
    "contracts/iijidcontract",
    "contracts/contract",
    "contracts/itemchange",
    "contracts/termination",
    "billing/ratecard",
    "billing/accountregistration",
    "billing/authcount",
    "billing/onetimecharge",
    "billing/billingrun",
    "billing/invoice",
    "billing/creditnote",
    "billing/journalexport",
)


def test_every_changelist_is_readable_at_1366_pixels(page, live_server, tmp_path):
    """Issue 15, item 4: the invoice changelist wrapped 宛名 a character per line (2,770 px
    tall) and cut off 支払期限."""
    october(tmp_path, issue=True)
    get_user_model().objects.create_superuser("admin", "admin@example.jp", "pw-browser-1")
    login(page, live_server, "admin")
    for changelist in CHANGELISTS:
        page.goto(f"{live_server.url}/admin/{changelist}/")
        table = page.locator("#result_list")
        if table.count() == 0:
            continue  # no rows
        # the last column header ends inside the window
        right = page.eval_on_selector(
            "#result_list thead th:last-child", "th => th.getBoundingClientRect().right"
        )
        assert right <= 1366, (changelist, right)
        # no cell of text narrower than two characters of text wraps a word a character per line
        squeezed = page.eval_on_selector_all(
            "#result_list td, #result_list th",
            # the height of the cell's text (not of its row): more than three lines for a
            # short text is a column squeezed to a character or two per line
            """cells => cells.filter(c => {
                 const text = c.innerText.trim();
                 if (text.length < 4) return false;
                 const range = document.createRange();
                 range.selectNodeContents(c);
                 const lines = range.getBoundingClientRect().height / (parseFloat(getComputedStyle(c).fontSize) * 1.6);
                 return lines > Math.max(3, text.length / 12);
               }).map(c => c.className + ': ' + c.innerText.trim().slice(0, 20))""",
        )
        assert squeezed == [], (changelist, squeezed)
        # no cell's text runs past the table's right edge, cut off there (未入金 期日超過 was)
        edge = page.eval_on_selector("#changelist .results", "e => e.getBoundingClientRect().right")
        cut = page.eval_on_selector_all(
            "#result_list td",
            """(cells, edge) => cells.filter(c => {
                 const range = document.createRange();
                 range.selectNodeContents(c);
                 return range.getBoundingClientRect().right > edge + 1;
               }).map(c => c.className + ': ' + c.innerText.trim().slice(0, 20))""",
            edge,
        )
        assert cut == [], (changelist, cut)
    page.goto(f"{live_server.url}/admin/billing/invoice/")
    assert page.evaluate("document.documentElement.scrollHeight") < 1400
    header = page.locator("#result_list thead th:has-text('支払期限')")
    assert header.is_visible() and header.bounding_box()["x"] + header.bounding_box()["width"] <= 1366
    screenshot(page, "invoice-changelist")


def test_sales_import_customers_from_the_changelist_after_a_preview(page, live_server, staff, tmp_path):
    """Issue 15, item 11: a bad file's problems line by line, then a good file's preview,
    then the import."""
    from contracts.models import Customer

    header = "customer_code,name,billing_name,email,postal_code,address\n"
    bad = tmp_path / "bad.csv"
    bad.write_text(header + "C 1,名前,,,,\n", encoding="utf-8")
    good = tmp_path / "customers.csv"
    good.write_text(header + "C-CSV1,取込商事株式会社,取込商事株式会社 御中,,,\n", encoding="utf-8")

    login(page, live_server, "sales1")
    page.goto(f"{live_server.url}/admin/contracts/customer/")
    page.click("#csv-import")
    page.set_input_files("#id_file", str(bad))
    page.click("#import-check")
    assert "2行目、customer_code列" in page.inner_text("#import-problems")
    page.set_input_files("#id_file", str(good))
    page.click("#import-check")
    assert "新規作成\t1" in page.inner_text("#import-preview")
    assert not Customer.objects.filter(code="C-CSV1").exists()
    screenshot(page, "csv-import-preview")
    page.click("#import-confirm")
    assert "1行を取り込みました" in success_message(page)
    assert Customer.objects.get(code="C-CSV1").history.latest().history_user == staff["sales1"]
