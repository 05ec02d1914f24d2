"""The page in a real headless Chromium (Debian's chromium, chromium-driver
and python3-selenium; nothing downloaded), through Nginx so that the page
is checked against the real Content-Security-Policy.

Each state of the page (empty, a small, negative, long and very long value,
one too long to show, a queued job, each error, an n beyond the limit) is
reached twice: rendered by the server (/?n=..., then improved by fib.js)
and rendered by fib.js from the JSON API after a submit.  The two must be
the same document (title, the field's error marks, the result's elements,
attributes and text), and each state passes axe-core (npm,
deploy/install-npm.sh) with no violation at desktop and phone sizes, light
and dark (the four views split between its two renderings).  Screenshots
of each rendering in each view go to test/web/artifacts/ (git-ignored)."""

import json
import os
import random
import shutil
import tempfile
import time
import types
import urllib.request

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from conftest import ARTIFACTS, ROOT, Stack
from jobs import idle_workers_stopped
from test_api import decimal, fail_a_job

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
AXE = os.path.join(ROOT, "npm", "node_modules", "axe-core", "axe.min.js")
BEYOND = 10 ** 18  # beyond fib_web's pg_fib.max_n in these suites (100,000,000)
DESKTOP = (1024, 900)
PHONE = (390, 844)


def _driver(javascript=True, width=DESKTOP[0], height=DESKTOP[1], flags=()):
    profile = tempfile.mkdtemp(prefix="pg_fib-chromium.")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                 f"--user-data-dir={profile}", f"--window-size={width},{height}", *flags):
        options.add_argument(flag)
    if not javascript:
        options.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript": 2})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_script_timeout(300)
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


def browser_errors(driver):
    """The console's errors since the last call: refused by the
    Content-Security-Policy, failed loads (a 404 favicon), script errors."""
    return [entry["message"] for entry in driver.get_log("browser")
            if entry["level"] == "SEVERE" or "Content Security Policy" in entry["message"]
            or "Refused to" in entry["message"]]


def csp_violations(driver):
    return [message for message in browser_errors(driver)
            if "Content Security Policy" in message or "Refused to" in message]


def submit(driver, n):
    field = driver.find_element(By.ID, "n")
    field.clear()
    field.send_keys(str(n))
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()


def set_view(driver, size, scheme):
    """The viewport (DESKTOP or PHONE, a phone's as a touch device) and the
    colour scheme the page is told the system prefers."""
    width, height = size
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": size == PHONE})
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {
        "features": [{"name": "prefers-color-scheme", "value": scheme}]})


def axe_violations(driver):
    """axe-core's violations on the document as it is now (every rule axe
    runs by default: WCAG 2.x A and AA, and its best practices)."""
    assert os.path.exists(AXE), f"{AXE} is missing: run deploy/install-npm.sh"
    if not driver.execute_script("return typeof axe !== 'undefined'"):
        with open(AXE) as f:
            driver.execute_script(f.read())
    found = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        axe.run(document, { resultTypes: ["violations"] })
          .then((r) => done(r.violations.map((v) => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map((n) => n.target.join(" ") + ": " + n.failureSummary)}))))
          .catch((e) => done([{ id: "axe-error", help: String(e), nodes: [] }]));""")
    return found


VIEWS = [("desktop", DESKTOP, "light"), ("desktop", DESKTOP, "dark"),
         ("phone", PHONE, "light"), ("phone", PHONE, "dark")]


def audit(driver, name, axe_views=range(len(VIEWS))):
    """axe-core in the VIEWS whose indexes are axe_views, with a screenshot
    in each of the four; then back to desktop and light."""
    found = {}
    for index, (size_name, size, scheme) in enumerate(VIEWS):
        set_view(driver, size, scheme)
        if index in axe_views:
            violations = axe_violations(driver)
            if violations:
                found[f"{size_name}, {scheme}"] = violations
        shot(driver, f"{name}-{size_name}-{scheme}")
    set_view(driver, DESKTOP, "light")
    assert found == {}, f"{name}: axe-core found {found}"


# The document as a comparable tree: the title, the field's attributes and
# the result's elements with their attributes and text (whitespace
# collapsed; a job's percentages and a value's source masked, since they
# may change between two renderings; <noscript> left out, as a browser with
# JavaScript does).
SERIALIZE = """
function tree(node) {
  if (node.nodeType === Node.TEXT_NODE) {
    const text = node.textContent.replace(/\\s+/g, " ")
      .replace(/\\d+%/g, "N%").replace(/from the memo|computed now/, "SOURCE");
    return text.trim() ? text : null;
  }
  if (node.nodeType !== Node.ELEMENT_NODE || node.tagName === "NOSCRIPT") return null;
  const attrs = [...node.attributes].filter((a) => !(node.tagName === "PROGRESS" && a.name === "value"))
    .map((a) => a.name + "=" + a.value).sort();
  const children = [...node.childNodes].map(tree).filter((c) => c !== null);
  // adjacent text nodes (the script appends a sign to a group) as one
  const merged = [];
  for (const c of children) {
    if (typeof c === "string" && typeof merged[merged.length - 1] === "string") {
      merged[merged.length - 1] += c;
    } else merged.push(c);
  }
  return [node.tagName.toLowerCase(), attrs, merged];
}
const input = document.getElementById("n");
return JSON.stringify({
  title: document.title,
  input: [...input.attributes].filter((a) => a.name !== "value")
    .map((a) => a.name + "=" + a.value).sort(),
  value: input.value,
  result: tree(document.getElementById("result")),
});
"""


def rendered(driver):
    return driver.execute_script(SERIALIZE)


def same_as(driver, expected, timeout=30):
    """Wait until the document is `expected` (a rendered() string); on
    timeout, fail showing both."""
    try:
        WebDriverWait(driver, timeout, poll_frequency=0.1).until(
            lambda d: rendered(d) == expected)
    except Exception:
        assert rendered(driver) == expected
    return expected


# Which views axe checks of each rendering: the two renderings of a state
# are the same document (checked), so between them every view is checked
# once.  axe takes some 20 s on a value of 200,000 digits: such a state
# gets one view each.
SPLIT = ((0, 3), (1, 2))
ONE_EACH = ((0,), (3,))


def both_renderings(driver, url, name, n, ready, axe_views=SPLIT):
    """The state of /?n=<n> rendered by the server, then by the script after
    a submit from the empty page: each audited, and the two compared.
    ready(driver): the state is complete (checked on the server's)."""
    driver.get(f"{url}/?n={n}")
    WebDriverWait(driver, 30).until(ready)
    server = rendered(driver)
    audit(driver, f"state-{name}-server", axe_views[0])
    driver.get(url + "/")
    submit(driver, n)
    same_as(driver, server)
    audit(driver, f"state-{name}-script", axe_views[1])
    assert csp_violations(driver) == []
    return server


def has(element_id):
    return lambda d: d.find_elements(By.ID, element_id)


# States reached through the suites' stack: (name, n, what marks it done,
# the views axe checks).
STATES = [
    ("small", "32", has("copy"), SPLIT),
    ("negative", "-8", has("copy"), SPLIT),
    ("long", "10000", has("copy"), SPLIT),
    ("very-long", "100000", has("copy"), SPLIT),
    # 199,792 digits, the most the page shows (FIB_WEB_VALUE_MAX_DIGITS).
    ("longest-shown", "956000", has("copy"), ONE_EACH),
    ("too-long-to-show", "1000000", has("too-long"), SPLIT),
    ("malformed", "1e5", has("problem-detail"), SPLIT),
    ("empty-n", "", has("problem-detail"), SPLIT),
    ("beyond-the-limit", str(BEYOND), has("about"), SPLIT),
]


@pytest.mark.parametrize("name, n, ready, axe_views", STATES, ids=[s[0] for s in STATES])
def test_each_state_is_the_same_from_the_server_and_the_script_and_passes_axe(
        stack, browser, name, n, ready, axe_views):
    server = both_renderings(browser, stack.url, name, n, ready, axe_views)
    assert "N%" not in server


def test_the_empty_page_is_the_same_after_back(stack, browser):
    """The empty form as the server sends it, and as the script shows it
    when Back returns to it."""
    browser.get(stack.url + "/")
    empty = rendered(browser)
    audit(browser, "state-empty-server", SPLIT[0])
    submit(browser, 5)
    WebDriverWait(browser, 10).until(has("copy"))
    browser.back()
    same_as(browser, empty)
    assert browser.current_url == stack.url + "/"
    audit(browser, "state-empty-script", SPLIT[1])


def test_a_queued_job_is_the_same_and_passes_axe(stack, database, browser):
    """A job that stays queued (the workers are stopped meanwhile): its
    progress, and the reload sentence only without JavaScript, since the
    script follows the job itself."""
    n = 20000000 + random.randrange(1, 1000000)
    with database.su() as su, idle_workers_stopped(su):
        server = both_renderings(browser, stack.url, "queued", n, has("progress"))
        assert "is being computed" in server
        assert "Reload this page" not in browser.find_element(By.TAG_NAME, "body").text
        without = _driver(javascript=False)
        try:
            without.get(f"{stack.url}/?n={n}")
            assert "Reload this page" in without.find_element(By.ID, "result").text
            # (axe-core cannot run where scripts are off: screenshots only)
            audit(without, "state-queued-no-js", ())
        finally:
            _quit(without)


def test_a_failed_job_is_the_same_and_passes_axe(database, client, browser):
    """A job whose worker was cancelled, as a stack that reports a failure
    for 10 minutes shows it: the problem and the job's own error."""
    n = 50000000 + random.randrange(1, 1000000)
    stack = Stack(database, env={"FIB_WEB_FAILED_JOB_RETRY_SECONDS": "600"})
    try:
        stack.start()
        fail_a_job(client, database, n)
        server = both_renderings(browser, stack.url, "failed-job", n, has("problem-error"))
        assert "aria-invalid=true" not in server
        assert "cancel" in browser.find_element(By.ID, "problem-error").text
    finally:
        stack.stop()


def test_an_unreachable_database_is_the_same_and_passes_axe(browser):
    """Gunicorn pointed at a port where no database listens: the 503."""
    from cluster import free_port
    nowhere = types.SimpleNamespace(
        url=f"host=127.0.0.1 port={free_port()} dbname=postgres user=fib_web connect_timeout=1")
    stack = Stack(nowhere, env={"FIB_WEB_POOL_TIMEOUT": "1"})
    try:
        stack.start()
        server = both_renderings(browser, stack.url, "database-unreachable", 32,
                                 has("problem-detail"))
        assert "cannot be reached" in server
        # Not the field's fault: it is not marked invalid.
        assert browser.find_element(By.ID, "n").get_attribute("aria-invalid") is None
    finally:
        stack.stop()


def test_submit_32_shows_2178309(stack, browser):
    browser.get(stack.url + "/")
    label = browser.find_element(By.CSS_SELECTOR, "label[for=n]")
    assert label.text.startswith("n")
    submit(browser, 32)
    value = WebDriverWait(browser, 10).until(
        EC.text_to_be_present_in_element((By.ID, "value"), "2178309"))
    assert value
    assert browser.find_element(By.ID, "value").text == "2178309"
    assert browser.find_element(By.ID, "digit-count").text == "7"
    assert browser.find_element(By.ID, "copy").is_displayed()
    assert browser.current_url.endswith("/?n=32")
    assert browser.title == "F(32) · pg_fib"
    shot(browser, "01-value-32")
    assert browser_errors(browser) == []


def test_the_live_region_says_a_summary_and_progress_every_few_seconds(
        stack, database, browser):
    """#status (role=status) is the page's only live region: it says
    "F(n) has N digits." and, while a job waits or runs, its progress when
    it changed and at most every 5 seconds, never every poll (500 ms) nor
    the value."""
    n = 30000000 + random.randrange(1, 1000000)  # a few seconds of computing
    browser.get(stack.url + "/")
    live = browser.find_elements(By.CSS_SELECTOR, "[aria-live], [role=status], [role=alert], "
                                 "[role=log], [role=marquee], [role=timer]")
    assert [e.get_attribute("id") for e in live] == ["status"]
    # Every change of #status, timed.
    browser.execute_script("""
        window.said = [];
        new MutationObserver(() => window.said.push(
            [performance.now(), document.getElementById("status").textContent]))
          .observe(document.getElementById("status"),
                   { childList: true, characterData: true, subtree: true });""")
    polls = """return performance.getEntriesByType("resource")
                 .filter((e) => e.name.endsWith("/job")).length"""
    with database.su() as su, idle_workers_stopped(su):
        # The job waits: polled every 500 ms, said once.
        submit(browser, n)
        WebDriverWait(browser, 10).until(has("progress"))
        time.sleep(6)
        assert browser.execute_script(polls) >= 8
        texts = [text.strip() for _, text in browser.execute_script("return window.said")]
        assert texts == [f"F({n}) is queued: 0%."]
        shot(browser, "09-queued-progress")
    # It runs, then is done.
    WebDriverWait(browser, 180).until(has("download"))
    said = browser.execute_script("return window.said")
    texts = [text.strip() for _, text in said]
    assert texts[-1] == f"F({n}) has {len(decimal(n)):,} digits.", texts
    progress = [(t, text) for t, text in said if "%" in text]
    assert all(text.startswith(f"F({n}) is ") for _, text in progress), texts
    gaps = [b[0] - a[0] for a, b in zip(progress, progress[1:])]
    assert all(gap >= 4500 for gap in gaps), (gaps, texts)
    assert all(len(text) < 120 for text in texts), texts
    # Nothing of the digits is said, and the result itself is not live.
    assert browser.find_element(By.ID, "result").get_attribute("aria-live") is None


def test_back_and_forward_move_between_results(stack, browser):
    """Each submit is a history entry; Back and Forward show their results,
    also back to a page the server rendered (a fresh load of /?n=32)."""
    browser.get(stack.url + "/?n=32")
    for n in (12, -8):
        submit(browser, n)
        WebDriverWait(browser, 10).until(lambda d: d.current_url.endswith(f"/?n={n}"))
        WebDriverWait(browser, 10).until(has("copy"))

    def shows(n, value):
        WebDriverWait(browser, 10).until(
            lambda d: d.current_url.endswith(f"/?n={n}") and d.title == f"F({n}) · pg_fib"
            and d.find_elements(By.ID, "value")
            and d.find_element(By.ID, "value").text == value)
        assert browser.find_element(By.ID, "n").get_attribute("value") == str(n)
        assert browser.find_element(By.ID, "copy").is_displayed()

    shows(-8, "-21")
    browser.back()
    shows(12, "144")
    browser.back()
    shows(32, "2178309")
    browser.forward()
    shows(12, "144")
    browser.forward()
    shows(-8, "-21")
    # The same n again replaces its entry: one Back leaves it.
    submit(browser, -8)
    WebDriverWait(browser, 10).until(has("copy"))
    browser.back()
    shows(12, "144")
    assert browser_errors(browser) == []


def test_errors_are_tied_to_the_field(stack, browser):
    """A problem with n (the script's check of an empty n, the server's 400
    and 422, rendered by either) marks the field invalid and describes it
    with the problem's detail; the next value clears it."""
    def tied():
        field = browser.find_element(By.ID, "n")
        described = field.get_attribute("aria-describedby").split()
        detail = browser.find_element(By.ID, "problem-detail")
        return (field.get_attribute("aria-invalid") == "true" and "problem-detail" in described
                and "n-help" in described and detail.text)

    browser.get(stack.url + "/")
    for n in ("", "1e5", "-", "12345678901234567890", str(BEYOND)):
        submit(browser, n)
        WebDriverWait(browser, 10).until(lambda d: d.find_elements(By.ID, "problem-detail"))
        assert tied(), n
        browser.get(f"{stack.url}/?n={n}")
        assert tied(), n
        browser.get(stack.url + "/")
    submit(browser, "1e5")
    WebDriverWait(browser, 10).until(lambda d: tied())
    submit(browser, 7)
    WebDriverWait(browser, 10).until(has("copy"))
    field = browser.find_element(By.ID, "n")
    assert field.get_attribute("aria-invalid") is None
    assert field.get_attribute("aria-describedby") == "n-help"


def _grant_clipboard(driver, url):
    driver.execute_cdp_cmd("Browser.grantPermissions", {
        "origin": url, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})


def _clipboard(driver):
    return driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        navigator.clipboard.readText().then(done, (e) => done("error: " + e));""")


def test_digits_are_grouped_and_copy_as_one_number(stack, browser):
    """The value is shown in groups of three digits, spaced, that copy as
    the number itself: with the Copy button (on a value the server rendered
    and on one the script did; "Copied" goes back to "Copy value") and by
    selecting the text and pressing Ctrl+C."""
    _grant_clipboard(browser, stack.url)
    value = decimal(100)  # 354224848179261915075
    browser.get(stack.url + "/?n=100")
    element = browser.find_element(By.ID, "value")
    assert element.text == value
    # Seven groups: 354 224 848 179 261 915 075, each a visible gap apart.
    groups = browser.execute_script("""
        const range = document.createRange(), out = [];
        for (const node of arguments[0].childNodes) {
          range.selectNodeContents(node);
          const r = range.getBoundingClientRect();
          out.push([node.textContent, r.left, r.right]);
        }
        return out;""", element)
    assert [g[0] for g in groups] == ["354", "224", "848", "179", "261", "915", "075"]
    assert all(b[1] - a[2] >= 4 for a, b in zip(groups, groups[1:])), groups
    shot(browser, "10-grouped-digits")

    copy = browser.find_element(By.ID, "copy")
    copy.click()
    WebDriverWait(browser, 5).until(lambda d: copy.text == "Copied")
    assert _clipboard(browser) == value
    WebDriverWait(browser, 10).until(lambda d: copy.text == "Copy value")

    # A selection of the whole value, copied with the keyboard.
    browser.execute_script("""
        const range = document.createRange();
        range.selectNodeContents(arguments[0]);
        getSelection().removeAllRanges();
        getSelection().addRange(range);""", element)
    assert browser.execute_script("return getSelection().toString()") == value
    ActionChains(browser).key_down(Keys.CONTROL).send_keys("c").key_up(Keys.CONTROL).perform()
    assert _clipboard(browser) == value

    # The script's rendering of a negative value.
    submit(browser, -100)
    WebDriverWait(browser, 10).until(
        lambda d: d.current_url.endswith("?n=-100") and d.find_elements(By.ID, "copy"))
    browser.find_element(By.ID, "copy").click()
    WebDriverWait(browser, 5).until(lambda d: d.find_element(By.ID, "copy").text == "Copied")
    assert _clipboard(browser) == "-" + value
    assert browser.find_element(By.ID, "value").text == "-" + value


def test_a_long_value_can_be_scrolled_with_the_keyboard(stack, browser):
    """The value, rendered by the server, is reached with Tab (after the
    field and the button) and scrolled with the arrow keys."""
    browser.get(stack.url + "/?n=30000")
    value = browser.find_element(By.ID, "value")
    assert browser.execute_script("return arguments[0].scrollHeight > arguments[0].clientHeight",
                                  value)
    browser.find_element(By.ID, "n").click()
    ActionChains(browser).send_keys(Keys.TAB, Keys.TAB).perform()
    assert browser.switch_to.active_element == value
    ActionChains(browser).send_keys(Keys.ARROW_DOWN * 5).perform()
    WebDriverWait(browser, 5).until(
        lambda d: d.execute_script("return arguments[0].scrollTop", value) > 0)
    ActionChains(browser).send_keys(Keys.TAB).perform()
    assert browser.switch_to.active_element.get_attribute("id") == "copy"


def test_the_page_has_a_favicon_a_description_and_no_console_error(stack, browser):
    browser.get(stack.url + "/")
    description = browser.find_element(By.CSS_SELECTOR, "meta[name=description]")
    assert len(description.get_attribute("content")) > 50
    icon = browser.find_element(By.CSS_SELECTOR, "link[rel=icon]").get_attribute("href")
    with urllib.request.urlopen(icon) as r:
        assert r.headers["Content-Type"].startswith("image/svg+xml")
        assert b"<svg" in r.read()
    with urllib.request.urlopen(stack.url + "/favicon.ico") as r:
        assert r.status == 200
        assert r.headers["Content-Type"] in ("image/vnd.microsoft.icon", "image/x-icon")
        assert r.read(4) == b"\x00\x00\x01\x00"  # an ICO file's header
        assert r.headers["Cache-Control"] == "public, max-age=86400"
    # Chromium asks for /favicon.ico when it likes: wait, then no failed
    # load is reported.
    time.sleep(1)
    assert browser_errors(browser) == []


# A name for the stack that is not a loopback address: Swagger UI behaves
# differently on "localhost" and "127.0.0.1" (its validator badge, for one).
DOCS_HOST = "pg-fib-docs.test"


@pytest.fixture
def docs_browser():
    driver = _driver(flags=(f"--host-resolver-rules=MAP {DOCS_HOST} 127.0.0.1",))
    yield driver
    _quit(driver)


def test_the_api_docs_show_every_operation_under_the_csp(stack, docs_browser):
    """/api/docs (Swagger UI, static files Nginx serves from deploy/api-docs
    and npm's swagger-ui-dist) works under the stack's Content-Security-
    Policy, offline, as it would under the service's own host name: every
    operation of the description is shown, one can be tried, and the
    console has no error (a script or style refused, a failed load, a
    request to another origin).  The page links it."""
    browser = docs_browser
    url = stack.url.replace("127.0.0.1", DOCS_HOST)
    browser.get(url + "/")
    docs = browser.find_element(By.CSS_SELECTOR, "footer a[href='/api/docs/']")
    with urllib.request.urlopen(stack.url + "/api/docs/") as r:
        assert r.status == 200
        policy = r.headers["Content-Security-Policy"]
        assert "script-src 'self';" in policy and "img-src 'self' data:;" in policy
    with urllib.request.urlopen(stack.url + "/") as r:
        # data: images are for Swagger UI's icons alone.
        assert "img-src 'self';" in r.headers["Content-Security-Policy"]
    with urllib.request.urlopen(stack.url + "/api/v1/openapi.json") as r:
        described = {(method, path) for path, item in json.load(r)["paths"].items()
                     for method in item if method in ("get", "head")}
    browser_errors(browser)  # the page's, checked elsewhere
    docs.click()
    WebDriverWait(browser, 30).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock")) >= len(described))
    assert browser.current_url == url + "/api/docs/"
    shown = {(block.get_attribute("class").split("opblock-")[-1].split()[0],
              block.find_element(By.CSS_SELECTOR, ".opblock-summary-path")
              .get_attribute("data-path"))
             for block in browser.find_elements(By.CSS_SELECTOR, ".opblock")}
    assert shown == described
    assert "pg_fib" in browser.find_element(By.CSS_SELECTOR, ".info .title").text
    shot(browser, "api-docs")
    # One operation opened and tried, as a reader would: the answer shown.
    value = browser.find_element(By.ID, "operations-values-getFib")
    value.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
    WebDriverWait(browser, 10).until(
        lambda d: value.find_elements(By.CSS_SELECTOR, ".try-out__btn"))
    value.find_element(By.CSS_SELECTOR, ".try-out__btn").click()
    field = value.find_element(By.CSS_SELECTOR, "tr[data-param-name=n] input")
    field.clear()
    field.send_keys("32")
    value.find_element(By.CSS_SELECTOR, ".execute").click()
    WebDriverWait(browser, 30).until(
        lambda d: "2178309" in value.find_element(By.CSS_SELECTOR, ".responses-wrapper").text)
    shot(browser, "api-docs-try-it-out")
    time.sleep(1)  # a late failed load (an icon) is reported too
    assert browser_errors(browser) == []


def test_dark_mode_follows_the_system(stack, browser):
    browser.get(stack.url + "/?n=32")

    def colours():
        return browser.execute_script("""
            const s = getComputedStyle(document.body);
            return [s.backgroundColor, s.color];""")

    set_view(browser, DESKTOP, "light")
    assert colours() == ["rgb(250, 250, 250)", "rgb(27, 27, 27)"]
    set_view(browser, DESKTOP, "dark")
    assert colours() == ["rgb(18, 20, 22)", "rgb(230, 230, 230)"]
    shot(browser, "11-dark-32")


def test_an_error_shows_the_problem_detail(stack, browser):
    browser.get(stack.url + "/")
    submit(browser, "1e5")
    detail = WebDriverWait(browser, 10).until(
        EC.presence_of_element_located((By.ID, "problem-detail")))
    assert "'e'" in detail.text and "Traceback" not in browser.page_source
    assert browser.title == "Error: Malformed n · pg_fib"
    shot(browser, "04-error")


def test_a_long_value_wraps_on_a_phone(stack):
    driver = _driver(width=PHONE[0], height=PHONE[1])
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
        assert driver.title == "F(32) · pg_fib"
        # No Copy button without a script to copy; the value is focusable.
        assert driver.find_elements(By.ID, "copy") == []
        assert driver.find_element(By.ID, "value").get_attribute("tabindex") == "0"
        audit(driver, "state-small-no-js", ())
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


@pytest.mark.parametrize("name, query", [("range-table", "from=-5&to=120"),
                                         ("range-empty", "from=5&to=1"),
                                         ("range-malformed", "from=1.5&to=9")])
def test_the_range_states_pass_axe(stack, browser, name, query):
    """The run's table, and its problems in place of the table, at every
    view (the two states beyond the n form's)."""
    browser.get(f"{stack.url}/?{query}")
    WebDriverWait(browser, 10).until(EC.presence_of_element_located((By.ID, "range-form")))
    if name == "range-table":
        assert len(browser.find_elements(By.CSS_SELECTOR, "#range-table tbody tr")) == 126
    else:
        assert browser.find_elements(By.CSS_SELECTOR, "#range-table") == []
    audit(browser, f"state-{name}")
