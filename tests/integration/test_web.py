"""The web page in headless Chromium (Debian's `chromium` and `chromium-driver`, via Selenium):
sign in with a key, see an alert arrive live (its hostile evidence shown as text, never run),
preview a threshold change, save it."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import timedelta

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from alerting.service import build
from streaming.es_sink import ElasticsearchSink
from streaming.window_store import Countable
from tests.integration.pipeline import Pipeline
from tests.integration.traffic import background, burst, now

HOSTILE = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    chromium = shutil.which("chromium")
    driver_path = shutil.which("chromedriver")
    assert chromium and driver_path, "install Debian's chromium and chromium-driver (.ci/run does)"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    try:
        yield driver
    finally:
        driver.quit()


def test_sign_in_see_an_alert_live_preview_and_save_thresholds(
    server: tuple[str, Pipeline], browser: WebDriver
) -> None:
    url, pipeline = server
    wait = WebDriverWait(browser, 60)
    browser.get(url + "/")
    browser.find_element(By.ID, "key").send_keys("operator-key-456")
    browser.find_element(By.CSS_SELECTOR, "#login button").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "who"), "signed in as operator"))
    wait.until(ec.text_to_be_present_in_element((By.ID, "live"), "live"))

    built = build(pipeline.settings)
    t0 = now()
    docs = background(t0 - timedelta(hours=2), t0, per_minute=30)
    # The burst's text is hostile: markup that would run script if the page built HTML from it.
    docs += [
        d.model_copy(update={"text": f"{HOSTILE} {d.text}", "title": HOSTILE})
        for d in burst(t0 - timedelta(minutes=3), 3, 15, topic="Earnings", ticker="WEBX")
    ]
    ElasticsearchSink(pipeline.es, index_prefix=pipeline.run).write(docs)
    pipeline.es.indices.refresh(index=f"{pipeline.run}-docs*")
    built.services.windows.add(
        [Countable.of(d) for d in docs]
    )  # as the sink worker: ES, then Redis
    alert = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#alerts li")))
    wait.until(lambda _: "WEBX" in browser.find_element(By.ID, "alerts").text)
    # The rule that fired and its reason, and the evidence, are shown.
    assert any(rule in alert.text for rule in ("negative spike", "sentiment drop", "volume spike"))
    assert " — firing: " in alert.text and "“" in alert.text
    webx = [li for li in browser.find_elements(By.CSS_SELECTOR, "#alerts li")
            if "WEBX" in li.text]  # fmt: skip
    assert webx and all("<img src=x" in li.text for li in webx)  # shown as text...
    assert browser.execute_script("return window.pwned === undefined")  # ...never run
    assert not browser.find_elements(By.CSS_SELECTOR, "#alerts img, #alerts script")

    editor = browser.find_element(By.ID, "defaults")
    thresholds = json.loads(editor.get_attribute("value") or "{}")
    thresholds["ticker"]["min_docs"] = 500
    browser.execute_script("arguments[0].value = arguments[1];", editor, json.dumps(thresholds))
    browser.find_element(By.ID, "preview").click()
    table = wait.until(ec.presence_of_element_located((By.ID, "preview-table")))
    rows = table.find_elements(By.TAG_NAME, "tr")
    assert [r.find_elements(By.TAG_NAME, "td")[0].text for r in rows[1:]] == ["current", "edited"]
    browser.find_element(By.ID, "reason").send_keys("fewer ticker alerts")
    browser.find_element(By.ID, "save").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "tversion"), "version 2"))
    assert "fewer ticker alerts" in browser.find_element(By.ID, "history").text
    assert browser.find_element(By.ID, "error").get_attribute("hidden") is not None
