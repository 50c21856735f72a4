"""A rule registered by this test alone (no change anywhere else) is run by the live evaluator,
listed by the API, has its thresholds validated, is backtested and appears on the web page."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import ClassVar

import httpx
import pytest
import uvicorn
from pydantic import Field
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from alerting.api import create_app
from alerting.rules.base import RuleThresholds, Verdict
from alerting.rules.registry import REGISTRY
from alerting.service import Alerting, build
from streaming.es_sink import ElasticsearchSink
from streaming.window_store import Countable
from streaming.windows import Window
from tests.integration.pipeline import Pipeline
from tests.integration.test_web import browser  # noqa: F401 (the fixture)
from tests.integration.traffic import background, burst, now

OPERATOR = {"Authorization": "Bearer operator-key-456"}
BURST_TICKER = "NOGOOD"


class NoGoodNewsThresholds(RuleThresholds):
    max_positive_share: float = Field(default=0.1, ge=0.0, le=1.0)


class NoGoodNews:
    """Fires when almost nothing in the window is positive: trivial, but a rule of its own."""

    name: ClassVar[str] = "no_good_news"
    summary: ClassVar[str] = "no good news: the positive share at or under a floor"
    thresholds: ClassVar[type[RuleThresholds]] = NoGoodNewsThresholds

    def evaluate(
        self, current: Window, baseline: Window, t: NoGoodNewsThresholds, fallback: Window | None
    ) -> Verdict:
        stats = current.stats
        share = stats.positive / stats.total if stats.total else 1.0
        firing = stats.total >= t.min_docs and share <= t.max_positive_share
        why = f"{share:.0%} positive of {stats.total} documents"
        return Verdict(firing, firing, "warning" if firing else None, why,
                       {"positive_share": share})  # fmt: skip


@pytest.fixture
def with_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(REGISTRY, NoGoodNews.name, NoGoodNews())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def in_process(
    alerting_pipeline: Pipeline, with_rule: None
) -> Iterator[tuple[str, Alerting, Pipeline]]:
    """The API served from this process (so it sees the rule registered here)."""
    built = build(alerting_pipeline.settings)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(built.services), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the API did not come up"
        time.sleep(0.1)
    try:
        yield url, built, alerting_pipeline
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _change(url: str, defaults: dict[str, object], reason: str) -> httpx.Response:
    """PUT a change of the test rule's defaults, as an operator."""
    body = {"rule": NoGoodNews.name, "defaults": defaults, "reason": reason}
    return httpx.put(f"{url}/api/thresholds", json=body, headers=OPERATOR)


def test_a_rule_registered_in_a_test_runs_everywhere(
    in_process: tuple[str, Alerting, Pipeline],
    browser: WebDriver,  # noqa: F811 (the fixture)
) -> None:
    url, built, pipeline = in_process
    t0 = now()
    docs = background(t0 - timedelta(hours=2), t0, per_minute=20)
    docs += burst(t0 - timedelta(minutes=4), 4, 10, topic="Macro", ticker=BURST_TICKER)
    ElasticsearchSink(pipeline.es, index_prefix=pipeline.run).write(docs)
    pipeline.es.indices.refresh(index=f"{pipeline.run}-docs*")
    built.services.windows.add([Countable.of(d) for d in docs])

    # The live evaluator runs it and the alert names it.
    built.evaluator.tick()
    fired = {(a.rule, a.scope.name) for a, e in built.evaluator.tick() if e == "fired"}
    assert (NoGoodNews.name, f"ticker:{BURST_TICKER}") in fired

    # The API lists it with its own thresholds.
    rules = {r["name"]: r for r in httpx.get(f"{url}/api/rules", headers=OPERATOR).json()}
    assert set(rules) >= {"negative_spike", NoGoodNews.name}
    assert "max_positive_share" in rules[NoGoodNews.name]["thresholds"]["properties"]
    assert rules[NoGoodNews.name]["defaults"]["ticker"]["max_positive_share"] == 0.1

    # Its thresholds are validated by its own model.
    bad = _change(url, {"ticker": {"max_positive_share": 2}}, "test")
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "defaults", "ticker", "max_positive_share"]
    good = _change(url, {"ticker": {"max_positive_share": 0.05}}, "stricter")
    assert good.status_code == 200, good.text
    stored = good.json()["rules"][NoGoodNews.name]["defaults"]["ticker"]
    assert stored["max_positive_share"] == 0.05

    # It is backtested beside the shipped rule.
    report = httpx.post(f"{url}/api/backtest", json={"since": "1d"}, headers=OPERATOR, timeout=120)
    assert report.status_code == 200, report.text
    backtested = {
        (f["rule"], f["scope"]) for f in report.json()["configurations"]["given"]["fired"]
    }
    assert (NoGoodNews.name, f"ticker:{BURST_TICKER}") in backtested

    # And the web page offers it: in the alert filters and in the threshold form.
    wait = WebDriverWait(browser, 60)
    browser.get(url + "/")
    browser.find_element(By.ID, "key").send_keys("operator-key-456")
    browser.find_element(By.CSS_SELECTOR, "#login button").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "who"), "signed in as operator"))
    wait.until(lambda _: "no good news" in browser.find_element(By.ID, "f-rule").text)
    browser.get(url + "/#thresholds")
    wait.until(lambda _: "no good news" in browser.find_element(By.ID, "t-rule").text)
    Select(browser.find_element(By.ID, "t-rule")).select_by_value(NoGoodNews.name)
    wait.until(ec.text_to_be_present_in_element((By.ID, "t-summary"), "no good news"))
    cell = '#t-defaults [data-kind="ticker"][data-field="max_positive_share"]'
    field = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, cell)))
    assert field.get_attribute("value") == "0.05"
