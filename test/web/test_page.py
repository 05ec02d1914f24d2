"""The page in a real headless Chromium (Debian's chromium, chromium-driver
and python3-selenium; nothing downloaded), through Nginx so that the page
is checked against the real Content-Security-Policy.  Screenshots go to
test/web/artifacts/."""

import os
import random
import shutil
import tempfile

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from conftest import ARTIFACTS, SYNC_MAX_N
from test_api import decimal

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def _driver(javascript=True, width=1024, height=900):
    profile = tempfile.mkdtemp(prefix="pg_fib-chromium.")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}",
                 f"--window-size={width},{height}"):
        options.add_argument(flag)
    if not javascript:
        options.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript": 2})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.pg_fib_profile = profile
    return driver


def _quit(driver):
    driver.quit()
    shutil.rmtree(driver.pg_fib_profile, ignore_errors=True)


@pytest.fixture
def browser():
    os.makedirs(ARTIFACTS, exist_ok=True)
    driver = _driver()
    yield driver
    _quit(driver)


def shot(driver, name):
    driver.save_screenshot(os.path.join(ARTIFACTS, f"{name}.png"))


def csp_violations(driver):
    return [entry["message"] for entry in driver.get_log("browser")
            if "Content Security Policy" in entry["message"]
            or "Refused to" in entry["message"]]


def submit(driver, n):
    field = driver.find_element(By.ID, "n")
    field.clear()
    field.send_keys(str(n))
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()


def test_submit_32_shows_2178309(stack, browser):
    browser.get(stack.url + "/")
    label = browser.find_element(By.CSS_SELECTOR, "label[for=n]")
    assert label.text.startswith("n")
    assert browser.find_element(By.ID, "result").get_attribute("aria-live") == "polite"
    submit(browser, 32)
    value = WebDriverWait(browser, 10).until(
        EC.text_to_be_present_in_element((By.ID, "value"), "2178309"))
    assert value
    assert browser.find_element(By.ID, "value").text == "2178309"
    assert browser.find_element(By.ID, "digit-count").text == "7"
    assert browser.find_element(By.ID, "copy").is_displayed()
    assert browser.current_url.endswith("/?n=32")
    shot(browser, "01-value-32")
    assert csp_violations(browser) == []


def test_a_queued_n_shows_progress_then_the_digit_count(stack, browser):
    n = 40000000 + random.randrange(1, 100000)  # about 1 s of computing
    browser.get(stack.url + "/")
    submit(browser, n)
    WebDriverWait(browser, 10).until(EC.presence_of_element_located((By.ID, "progress")))
    shot(browser, "02-queued-progress")
    count = WebDriverWait(browser, 120).until(
        EC.presence_of_element_located((By.ID, "digit-count")))
    expected = decimal(n)
    assert count.text == f"{len(expected):,}"
    assert expected[:20] in browser.find_element(By.ID, "result").text
    assert browser.find_element(By.ID, "download").get_attribute("href").endswith(
        f"/api/v1/fib/{n}/digits")
    shot(browser, "03-queued-done")
    assert csp_violations(browser) == []


def test_an_error_shows_the_problem_detail(stack, browser):
    browser.get(stack.url + "/")
    submit(browser, "1e5")
    detail = WebDriverWait(browser, 10).until(
        EC.presence_of_element_located((By.ID, "problem-detail")))
    assert "'e'" in detail.text and "Traceback" not in browser.page_source
    shot(browser, "04-error")


def test_a_long_value_wraps_on_a_phone(stack):
    driver = _driver(width=390, height=844)
    try:
        driver.get(stack.url + "/")
        submit(driver, 10000)
        WebDriverWait(driver, 10).until(EC.presence_of_element_located((By.ID, "value")))
        assert driver.find_element(By.ID, "digit-count").text == "2,090"
        # Wrapped to the page: nothing wider than the screen.
        assert driver.execute_script(
            "return document.documentElement.scrollWidth <= window.innerWidth")
        shot(driver, "05-phone-long-value")
        assert csp_violations(driver) == []
    finally:
        _quit(driver)


def test_without_javascript_the_get_form_renders_the_value(stack):
    driver = _driver(javascript=False)
    try:
        driver.get(stack.url + "/?n=32")
        assert driver.find_element(By.ID, "value").text == "2178309"
        shot(driver, "06-no-js-32")
        # The form itself submits as GET.
        submit(driver, 12)
        WebDriverWait(driver, 10).until(
            EC.text_to_be_present_in_element((By.ID, "value"), "144"))
        assert "n=12" in driver.current_url
    finally:
        _quit(driver)


def test_without_javascript_the_range_form_renders_a_table(stack):
    """The second form, F(a) to F(b): a table from the server, and a link to
    the next values, with JavaScript off."""
    driver = _driver(javascript=False)
    try:
        driver.get(stack.url + "/")
        for name, value in (("from", "-10"), ("to", "1200")):
            field = driver.find_element(By.ID, name)
            field.clear()
            field.send_keys(value)
        driver.find_element(By.CSS_SELECTOR, "#range-form button[type=submit]").click()
        WebDriverWait(driver, 10).until(EC.presence_of_element_located((By.ID, "range-table")))
        assert "from=-10&to=1200" in driver.current_url
        rows = driver.find_elements(By.CSS_SELECTOR, "#range-table tbody tr")
        assert len(rows) == 1000
        for row in rows[:30] + rows[-5:]:
            n, value = (cell.text for cell in row.find_elements(By.CSS_SELECTOR, "th, td"))
            assert value == decimal(int(n))
        shot(driver, "07-no-js-range")
        driver.find_element(By.ID, "range-next").click()
        WebDriverWait(driver, 10).until(EC.url_contains("from=990"))
        last = driver.find_elements(By.CSS_SELECTOR, "#range-table tbody tr")[-1]
        assert [c.text for c in last.find_elements(By.CSS_SELECTOR, "th, td")] == \
            ["1200", decimal(1200)]
        assert csp_violations(driver) == []
    finally:
        _quit(driver)
