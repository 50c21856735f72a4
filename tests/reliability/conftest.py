"""The reliability suite: faults injected into the real stack while documents flow."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.integration.conftest import stack  # noqa: F401 (the session's stack fixture)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/reliability" in str(item.path):
            item.add_marker(pytest.mark.reliability)
            item.add_marker(pytest.mark.integration)


@pytest.fixture
def figure(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Record a scenario's figure line (in, indexed, counted, lost, ...) for the run's summary."""

    def record(line: str) -> None:
        request.node.user_properties.append(("figure", line))

    return record


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Every scenario's figure line, passed or failed, in every run's output (CI's too)."""
    lines = [
        f"{value}  [{report.outcome}]"
        for outcome in ("passed", "failed")
        for report in terminalreporter.stats.get(outcome, [])
        if getattr(report, "when", "") == "call"
        for name, value in report.user_properties
        if name == "figure"
    ]
    if lines:
        terminalreporter.section("reliability figures")
        for line in lines:
            terminalreporter.write_line(str(line))
