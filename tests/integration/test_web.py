"""The web page in headless Chromium (Debian's `chromium` and `chromium-driver`, via Selenium),
as an analyst and an operator use it: sign in, an alert arriving live (its hostile evidence
shown as text, never run), its detail (trend against the baseline, stories, clickable evidence,
acknowledge, notes, judged useful, an evidence document's sentiment corrected), filters, a
per-scope override edited in the form with the backtest chart, a silence created and expired,
and an alert fired while the live stream was down appearing after the page reconnects."""

from __future__ import annotations

import csv
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from elasticsearch import helpers
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from alerting.alert_store import RedisAlertStore, ScopeChange
from alerting.history import alert_document
from alerting.lifecycle import ScopeState
from alerting.records import Alert, Example, Scope
from alerting.service import build
from streaming.clients import redis_client
from streaming.es_sink import ElasticsearchSink
from streaming.indices import alerts_index
from streaming.records import ScoredDoc
from streaming.window_store import Countable
from tests.integration.alertmanager import amtool
from tests.integration.conftest import start_server, undertow
from tests.integration.pipeline import Pipeline
from tests.integration.traffic import background, burst, now

HOSTILE = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'
OPERATOR = {"Authorization": "Bearer operator-key-456"}


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
        "--disable-background-networking",
        "--window-size=1400,1000",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    try:
        yield driver
    finally:
        driver.quit()


def _sign_in(browser: WebDriver, url: str, key: str, role: str) -> WebDriverWait[WebDriver]:
    wait = WebDriverWait(browser, 60)
    browser.get(url + "/")
    browser.find_element(By.ID, "key").send_keys(key)
    browser.find_element(By.CSS_SELECTOR, "#login button").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "who"), f"signed in as {role}"))
    wait.until(ec.text_to_be_present_in_element((By.ID, "live"), "live"))
    return wait


def _store(pipeline: Pipeline, docs: list[ScoredDoc]) -> None:
    """What the sink worker does: index, then count."""
    ElasticsearchSink(pipeline.es, index_prefix=pipeline.run).write(docs)
    pipeline.es.indices.refresh(index=f"{pipeline.run}-docs*")
    build(pipeline.settings).services.windows.add([Countable.of(d) for d in docs])


def _burst_on(pipeline: Pipeline, ticker: str, hostile: bool = False) -> None:
    t0 = now()
    docs = background(t0 - timedelta(hours=2), t0, per_minute=30)
    bad = burst(t0 - timedelta(minutes=3), 3, 15, topic="Earnings", ticker=ticker)
    docs += [
        d.model_copy(update={"url": f"https://news.example/{d.id}"}
                     | ({"text": f"{HOSTILE} {d.text}", "title": HOSTILE} if hostile else {}))
        for d in bad
    ]  # fmt: skip
    _store(pipeline, docs)


def _items(browser: WebDriver) -> list[WebElement]:
    return browser.find_elements(By.CSS_SELECTOR, "#alerts li")


def _about(browser: WebDriver, scope: str) -> list[WebElement]:
    """The listed alerts on ``scope`` (not those that only name it among their related)."""
    found: list[WebElement] = browser.execute_script(
        "return [...document.querySelectorAll('#alerts li')]"
        ".filter(li => li.querySelector('a.title').textContent.endsWith(arguments[0]))",
        scope,
    )
    return found


def test_an_alert_arrives_live_as_text_and_its_detail_is_worked_on(
    server: tuple[str, Pipeline], browser: WebDriver, tmp_path: Path
) -> None:
    url, pipeline = server
    wait = _sign_in(browser, url, "analyst-key-123", "analyst")
    _burst_on(pipeline, "WEBX", hostile=True)
    wait.until(lambda _: _about(browser, "ticker:WEBX"))
    webx = _about(browser, "ticker:WEBX")
    assert any(
        rule in webx[0].text for rule in ("negative spike", "sentiment drop", "volume spike")
    )
    assert " — firing: " in webx[0].text and "“" in webx[0].text
    assert "fired " in webx[0].text and " ago (" in webx[0].text and "UTC)" in webx[0].text
    assert all("<img src=x" in li.text for li in webx)  # shown as text...
    assert browser.execute_script("return window.pwned === undefined")  # ...never run
    assert not browser.find_elements(By.CSS_SELECTOR, "#alerts img, #alerts script")

    spike = next(li for li in webx if "negative spike" in li.text)
    spike.find_element(By.CSS_SELECTOR, "a.title").click()
    detail = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#detail article")))
    assert "negative spike on ticker:WEBX" in detail.text
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#d-trend svg polyline")))
    assert "baseline" in browser.find_element(By.CSS_SELECTOR, "#d-trend svg").text
    evidence = browser.find_elements(By.CSS_SELECTOR, ".evidence li")
    assert evidence and all("negative" in e.text and "Earnings" in e.text and "news" in e.text
                            for e in evidence)  # fmt: skip
    link = evidence[0].find_element(By.TAG_NAME, "a")
    assert (link.get_attribute("href") or "").startswith("https://news.example/")
    assert not browser.find_elements(By.CSS_SELECTOR, "#detail img, #detail script")

    browser.find_element(By.ID, "ack").click()
    wait.until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, "#detail .ack"),
                                                "acknowledged by analyst:"))  # fmt: skip
    browser.find_element(By.ID, "d-note").send_keys("desk is on it")
    browser.find_element(By.CSS_SELECTOR, "#detail form.note button").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "d-activity"), "desk is on it"))
    assert "acknowledged" in browser.find_element(By.ID, "d-activity").text
    assert browser.find_element(By.ID, "error").get_attribute("hidden") is not None
    browser.find_element(By.ID, "d-useful").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "d-feedback"), "useful, said analyst:"))
    assert "judged it useful" in browser.find_element(By.ID, "d-activity").text

    # The analyst corrects the model on the first piece of evidence; it becomes training data.
    first = browser.find_elements(By.CSS_SELECTOR, ".evidence li")[0]
    first.find_element(By.CSS_SELECTOR, "button.correct").click()
    form = wait.until(lambda _: first.find_element(By.CSS_SELECTOR, ".correction form"))
    Select(form.find_element(By.CSS_SELECTOR, "select.c-sentiment")).select_by_value("positive")
    form.find_element(By.CSS_SELECTOR, "input.c-note").send_keys("guidance was raised")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(
        ec.text_to_be_present_in_element(
            (By.CSS_SELECTOR, ".evidence li .c-status"), "corrected to positive by analyst:"
        )
    )
    out = tmp_path / "feedback"
    done = undertow("--config", str(pipeline.config), "feedback", "export", "--out", str(out))
    assert done.returncode == 0, done.stderr
    with (out / "sentiment.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["label"], r["predicted"]) for r in rows] == [("positive", "negative")]
    assert rows[0]["by"].startswith("analyst:")
    assert pipeline.es_docs(ids=[rows[0]["id"]])[0]["correction"]["sentiment"] == "positive"


def _indexed(pipeline: Pipeline, alerts: list[Alert]) -> None:
    index = alerts_index(pipeline.run)
    helpers.bulk(pipeline.es, ({"_index": index, "_id": a.id, "_source": alert_document(a)}
                               for a in alerts))  # fmt: skip
    pipeline.es.indices.refresh(index=index)


def _alert(rule: str, scope: str, severity: str, state: str, text: str, minutes: int) -> Alert:
    at = datetime.now(UTC) - timedelta(minutes=minutes)
    return Alert.model_validate({
        "id": uuid.uuid4().hex[:16], "rule": rule, "scope": Scope.parse(scope),
        "severity": severity, "state": state, "started_at": at, "fired_at": at,
        "updated_at": at, "current": {"total": 30.0}, "baseline": {"total": 300.0},
        "verdict": {"reason": f"{rule} on {scope}"}, "thresholds_version": 1,
        "examples": [Example(id="e", text=text, published_at=at, score=-0.6)],
    })  # fmt: skip


def test_filters_narrow_the_list(server: tuple[str, Pipeline], browser: WebDriver) -> None:
    url, pipeline = server
    _indexed(pipeline, [
        _alert("negative_spike", "ticker:AAA", "critical", "firing", "AAA recalls cars", 5),
        _alert("volume_spike", "topic:Macro", "warning", "resolved", "rates surprise", 10),
        _alert("sentiment_drop", "ticker:BBB", "warning", "firing", "BBB cuts guidance", 15),
        _alert("negative_spike", "source:social", "warning", "resolved", "rumours", 20),
    ])  # fmt: skip
    wait = _sign_in(browser, url, "analyst-key-123", "analyst")

    def shown() -> list[str]:
        titles = browser.execute_script(
            "return [...document.querySelectorAll('#alerts li a.title')].map(a => a.textContent)"
        )
        return sorted(t.split(" · ")[-1] for t in titles)

    wait.until(lambda _: len(shown()) == 4)
    assert "4 of 4 alerts" in browser.find_element(By.ID, "alert-count").text

    def after(action: Callable[[], Any], expected: list[str]) -> None:
        action()
        wait.until(lambda _: shown() == expected)

    after(lambda: Select(browser.find_element(By.ID, "f-state")).select_by_visible_text("firing"),
          ["ticker:AAA", "ticker:BBB"])  # fmt: skip
    after(lambda: Select(browser.find_element(By.ID, "f-severity")).select_by_visible_text(
        "critical"), ["ticker:AAA"])  # fmt: skip
    browser.find_element(By.ID, "f-clear").click()
    wait.until(lambda _: len(shown()) == 4)
    after(lambda: Select(browser.find_element(By.ID, "f-rule")).select_by_value("negative_spike"),
          ["source:social", "ticker:AAA"])  # fmt: skip
    after(lambda: Select(browser.find_element(By.ID, "f-kind")).select_by_visible_text("source"),
          ["source:social"])  # fmt: skip
    browser.find_element(By.ID, "f-clear").click()
    wait.until(lambda _: len(shown()) == 4)
    browser.find_element(By.ID, "f-text").send_keys("guidance")
    after(lambda: browser.find_element(By.CSS_SELECTOR, "#filters button[type=submit]").click(),
          ["ticker:BBB"])  # fmt: skip


def test_a_per_scope_override_is_edited_in_the_form_previewed_and_saved(
    server: tuple[str, Pipeline], browser: WebDriver
) -> None:
    url, pipeline = server
    _burst_on(pipeline, "WEBX")
    wait = _sign_in(browser, url, "operator-key-456", "operator")
    browser.get(url + "/#thresholds")
    wait.until(ec.text_to_be_present_in_element((By.ID, "tversion"), "version 1"))
    Select(browser.find_element(By.ID, "t-rule")).select_by_value("negative_spike")
    cell = '#t-defaults [data-kind="ticker"][data-field="min_docs"]'
    ticker_default = browser.find_element(By.CSS_SELECTOR, cell)
    assert ticker_default.get_attribute("value") == "10"
    browser.find_element(By.ID, "t-new-scope").send_keys("ticker:WEBX")
    browser.find_element(By.ID, "t-add").click()
    field = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR,
        '.override[data-scope="ticker:WEBX"] [data-field="min_docs"]')))  # fmt: skip
    assert field.get_attribute("placeholder") == "10"
    field.send_keys("500")
    browser.find_element(By.ID, "t-since").click()  # leave the field: the JSON view follows
    assert '"min_docs": 500' in (browser.find_element(By.ID, "t-json").get_attribute("value") or "")

    browser.find_element(By.ID, "t-preview").click()
    chart = WebDriverWait(browser, 180).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, "#preview-chart svg")))  # fmt: skip
    assert chart.find_elements(By.CSS_SELECTOR, "rect.bar")
    rows = browser.find_elements(By.CSS_SELECTOR, "#preview-table tr")
    assert [r.find_elements(By.TAG_NAME, "td")[0].text for r in rows[1:]] == ["current", "edited"]
    summary = browser.find_element(By.ID, "preview-summary").text
    # Muting WEBX keeps the other alerts, at the same times: the comparison shows it.
    caught = re.search(r"fire (\d+) of the current (\d+) alerts, 0 s later on average", summary)
    assert caught is not None, summary
    assert 0 < int(caught.group(1)) < int(caught.group(2))

    browser.find_element(By.ID, "t-reason").send_keys("WEBX is noisy")
    browser.find_element(By.ID, "t-save").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "tversion"), "version 2"))
    assert "WEBX is noisy" in browser.find_element(By.ID, "t-history").text
    saved = httpx.get(f"{url}/api/thresholds", headers=OPERATOR).json()
    assert saved["rules"]["negative_spike"]["overrides"]["ticker:WEBX"] == {"min_docs": 500}
    assert browser.find_element(By.ID, "error").get_attribute("hidden") is not None


def test_a_silence_is_created_and_expired_on_the_page(
    server: tuple[str, Pipeline], browser: WebDriver
) -> None:
    url, pipeline = server
    wait = _sign_in(browser, url, "analyst-key-123", "analyst")
    browser.get(url + "/#silences")
    browser.find_element(By.ID, "s-scope").send_keys("ticker:ACME")
    browser.find_element(By.ID, "s-reason").send_keys("earnings day")
    browser.find_element(By.CSS_SELECTOR, "#silence-form button").click()
    item = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#silences li[data-id]")))
    assert "scope=ticker:ACME" in item.text and "earnings day" in item.text
    assert "ends in 4 h" in item.text
    silence_id = item.get_attribute("data-id") or ""
    assert silence_id in amtool(pipeline.settings, "silence", "query", f"namespace={pipeline.run}")
    item.find_element(By.CSS_SELECTOR, "button.expire").click()
    wait.until(lambda _: not browser.find_elements(By.CSS_SELECTOR, "#silences li[data-id]"))
    assert silence_id not in amtool(pipeline.settings, "silence", "query")


def test_an_alert_fired_while_the_stream_was_down_appears_after_reconnecting(
    alerting_pipeline: Pipeline, browser: WebDriver
) -> None:
    pipeline = alerting_pipeline
    proc, url = start_server(pipeline)
    try:
        wait = _sign_in(browser, url, "analyst-key-123", "analyst")
        proc.kill()  # the service goes away: the page's stream breaks
        proc.wait(timeout=30)
        wait.until(ec.text_to_be_present_in_element((By.ID, "live"), "reconnecting"))
        # While the page is disconnected an alert fires and is delivered.
        alert = _alert("negative_spike", "ticker:DOWN", "critical", "firing", "while away", 0)
        store = RedisAlertStore(redis_client(pipeline.settings.redis), pipeline.run)
        state = ScopeState(alert_id=alert.id, phase="firing", streak=2, severity="critical")
        store.commit(ScopeChange("negative_spike/ticker:DOWN", state, alert, event="fired"))
        assert build(pipeline.settings).evaluator.deliver_pending() >= 1
        assert not _about(browser, "ticker:DOWN")
        proc, _ = start_server(pipeline, port=int(url.rsplit(":", 1)[1]))
        wait.until(ec.text_to_be_present_in_element((By.ID, "live"), "live"))
        wait.until(lambda _: _about(browser, "ticker:DOWN"))
    finally:
        proc.kill()
        proc.wait(timeout=30)
