"""The reliability suite: faults injected into the real stack while documents flow."""

from __future__ import annotations

import pytest

from tests.integration.conftest import stack  # noqa: F401 (the session's stack fixture)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/reliability" in str(item.path):
            item.add_marker(pytest.mark.reliability)
            item.add_marker(pytest.mark.integration)
