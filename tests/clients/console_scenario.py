"""Drives serve's web console in headless Chromium (Selenium, pinned in
requirements.lock) and prints what a person would have seen, as JSON, for
tests/tests/console.rs to check.

Usage: console_scenario.py CONFIG_JSON, where CONFIG_JSON holds
base, token, run_id, screenshot, chromium, chromedriver and hostile (the
name of a connector whose manifest is full of markup).
"""

import json
import sys

from selenium import webdriver
from selenium.common.exceptions import (NoAlertPresentException, StaleElementReferenceException,
                                        WebDriverException)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait


def browser(config):
    options = webdriver.ChromeOptions()
    options.binary_location = config["chromium"]
    for argument in [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,2400",
    ]:
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(config["chromedriver"]))


def path_of(driver):
    base = CONFIG["base"]
    url = driver.current_url
    return url[len(base):] if url.startswith(base) else url


def alert_shown(driver):
    try:
        driver.switch_to.alert
        return True
    except NoAlertPresentException:
        return False


def wait_for(driver, css):
    """The first element matching `css`, once the page shows one."""
    return WebDriverWait(driver, 30).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css)))


def submit(driver, button_id):
    """Clicks a submit button and waits for the next page."""
    click_through(driver, driver.find_element(By.ID, button_id))


def click_through(driver, button):
    """Clicks `button` and waits for the page it leads to."""
    old = driver.find_element(By.TAG_NAME, "html")
    button.click()
    WebDriverWait(driver, 60).until(lambda _: is_stale(old))


def is_stale(element):
    """Whether `element` left the page. Chrome sometimes reports a node
    taken away mid-check as an inspector error rather than a stale
    reference (selenium's `staleness_of` then fails the wait)."""
    try:
        element.is_enabled()
        return False
    except StaleElementReferenceException:
        return True
    except WebDriverException as error:
        if "does not belong to the document" in str(error):
            return True
        raise


def visible_rows(driver, table):
    rows = driver.find_elements(By.CSS_SELECTOR, f"#{table} tbody tr")
    return [row.text for row in rows if row.is_displayed()]


def run_form(driver, url, fill):
    """Opens an operation's form, lets `fill` fill it, submits it, and
    returns (status, text) of the output or error."""
    driver.get(url)
    fill(driver)
    submit(driver, "run")
    wait_for(driver, "#result")
    for kind in ["output", "error"]:
        found = driver.find_elements(By.CSS_SELECTOR, f"#{kind}")
        if found:
            return {"kind": kind, "text": found[0].text}
    return {"kind": "none", "text": driver.find_element(By.ID, "result").text}


def scenario(driver):
    base = CONFIG["base"]
    report = {}

    # No session: every page sends the browser to /login.
    driver.get(f"{base}/runs/{CONFIG['run_id']}")
    report["without_session"] = path_of(driver)

    # A wrong token, then the right one.
    driver.find_element(By.NAME, "token").send_keys("not-the-token")
    submit(driver, "sign-in")
    report["wrong_token"] = wait_for(driver, "#login-error").text
    driver.find_element(By.NAME, "token").send_keys(CONFIG["token"])
    submit(driver, "sign-in")
    report["after_login"] = path_of(driver)
    cookie = driver.get_cookie("connector_host_session") or {}
    report["cookie"] = {k: cookie.get(k) for k in ["httpOnly", "sameSite", "expiry"]}
    report["connectors"] = visible_rows(driver, "connectors")

    # The runs, and the seed's run step by step.
    driver.get(f"{base}/runs")
    report["runs"] = visible_rows(driver, "runs")
    driver.get(f"{base}/runs/{CONFIG['run_id']}")
    report["run_status"] = driver.find_element(By.ID, "status").text
    steps = []
    for section in driver.find_elements(By.CSS_SELECTOR, "section.step"):
        steps.append({
            "heading": section.find_element(By.TAG_NAME, "h2").text,
            "facts": section.find_element(By.CSS_SELECTOR, "dl.facts").text,
            "input": section.find_element(By.CSS_SELECTOR, ".input pre").text,
            "output": section.find_element(By.CSS_SELECTOR, ".output pre").text,
        })
    report["steps"] = steps
    driver.save_screenshot(CONFIG["screenshot"])

    # The operations of a connector, filtered as you type.
    driver.get(f"{base}/connectors/aws-cognito")
    report["operations_listed"] = len(visible_rows(driver, "operations"))
    driver.find_element(By.ID, "filter").send_keys("DETACHES a prefix")
    report["operations_filtered"] = visible_rows(driver, "operations")

    # A form from the schema: fill pool_name and run it.
    operation = f"{base}/connectors/aws-cognito/operations/create_user_pool"
    report["form_pool"] = run_form(
        driver, operation, lambda d: d.find_element(By.NAME, "pool_name").send_keys("Console Pool"))

    # The same in raw JSON: the required field, hidden, does not block it.
    def raw(d):
        d.find_element(By.ID, "raw-mode").click()
        area = d.find_element(By.ID, "raw-input")
        area.clear()
        area.send_keys('{"pool_name": "Raw Pool"}')
    report["raw_pool"] = run_form(driver, operation, raw)

    # The service's refusal, shown as a typed error.
    report["service_error"] = run_form(
        driver, f"{base}/connectors/aws-cognito/operations/admin_create_user", lambda d: (
            d.find_element(By.NAME, "user_pool_id").send_keys("us-east-1_NoSuchPool"),
            d.find_element(By.NAME, "username").send_keys("nobody"),
        ))

    # Arrays are repeatable groups named by path.
    driver.get(f"{base}/connectors/aws-cognito/operations/admin_create_user")
    group = driver.find_element(By.CSS_SELECTOR, 'fieldset.repeat[data-path="user_attributes"]')
    group.find_element(By.CSS_SELECTOR, "button.add").click()
    report["added_item_fields"] = [
        e.get_attribute("name") for e in group.find_elements(By.CSS_SELECTOR, "[name^='user_attributes.1.']")]

    # A manifest full of markup renders as text and runs nothing.
    hostile = CONFIG["hostile"]
    driver.get(f"{base}/connectors/{hostile}")
    report["hostile_heading"] = driver.find_element(By.TAG_NAME, "h1").text
    report["hostile_first_row"] = visible_rows(driver, "operations")[0]
    report["hostile_scripts"] = len(driver.find_elements(By.CSS_SELECTOR, "main script, main img"))
    report["hostile_alert"] = alert_shown(driver)
    driver.get(f"{base}/connectors/{hostile}/operations/loop_forever")
    report["hostile_form_labels"] = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#form-fields label")]
    report["hostile_options"] = [
        e.get_attribute("value") for e in driver.find_elements(By.CSS_SELECTOR, "#form-fields option")]
    report["hostile_form_scripts"] = len(driver.find_elements(By.CSS_SELECTOR, "main script"))
    report["hostile_form_alert"] = alert_shown(driver)

    # Signing out ends the session.
    click_through(driver, driver.find_element(By.CSS_SELECTOR, "form[action='/logout'] button"))
    report["after_logout"] = path_of(driver)
    driver.get(f"{base}/connectors")
    report["after_logout_visit"] = path_of(driver)

    report["csp_violations"] = [
        entry["message"] for entry in driver.get_log("browser") if "Content Security Policy" in entry["message"]]
    return report


CONFIG = json.loads(sys.argv[1])

if __name__ == "__main__":
    driver = browser(CONFIG)
    try:
        print(json.dumps(scenario(driver)))
    finally:
        driver.quit()
