"""The shipped Alertmanager configuration, checked and routed by the real ``amtool`` (built by
the stack's Alertmanager install): routes per severity and desk, grouping by incident, the
inhibition of what a market-wide alert explains; and the local stack's own configuration."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from deploy.stack.alertmanager import AlertmanagerService, local_config
from undertow.settings import Settings

SHIPPED = Path(__file__).resolve().parents[2] / "deploy" / "alertmanager" / "alertmanager.yml"


@pytest.fixture(scope="module")
def amtool() -> Path:
    service = AlertmanagerService(Settings().stack)
    service.install()  # go install, once; cached like Kafka's jars
    return service.amtool


def _run(amtool: Path, *args: str) -> str:
    done = subprocess.run([str(amtool), *args], capture_output=True, text=True, timeout=60,
                          check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip()


def _receivers(amtool: Path, config: Path, *labels: str) -> list[str]:
    out = _run(amtool, "config", "routes", "test", f"--config.file={config}", *labels)
    return out.splitlines()[-1].split(",")


def test_the_shipped_configuration_is_valid(amtool: Path) -> None:
    assert "SUCCESS" in _run(amtool, "check-config", str(SHIPPED))


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        (['severity="critical"', 'scope_kind="ticker"', 'ticker="ACME"'],
         ["oncall-email", "desk-equities"]),
        (['severity="warning"', 'scope_kind="ticker"', 'ticker="ACME"'], ["desk-equities"]),
        (['severity="warning"', 'scope_kind="topic"', 'topic="Fed | Central Banks"'],
         ["desk-macro"]),
        (['severity="critical"', 'scope_kind="topic"', 'topic="Energy | Oil"'],
         ["oncall-email", "desk-commodities"]),
        (['severity="warning"', 'scope_kind="topic"', 'topic="Earnings"'], ["desk-equities"]),
        (['severity="warning"', 'scope_kind="all"'], ["desk-heads"]),
        (['severity="warning"', 'scope_kind="source"', 'source="social"'], ["desk-heads"]),
    ],
)  # fmt: skip
def test_alerts_are_routed_by_severity_and_desk(
    amtool: Path, labels: list[str], receivers: list[str]
) -> None:
    assert _receivers(amtool, SHIPPED, *labels) == receivers


def test_grouping_is_by_incident_and_a_market_wide_alert_inhibits_its_incident() -> None:
    config = yaml.safe_load(SHIPPED.read_text())
    assert config["route"]["group_by"] == ["namespace", "incident"]
    [market] = [r for r in config["inhibit_rules"] if r["source_matchers"] == ['scope_kind="all"']]
    assert market["equal"] == ["namespace", "incident"]
    # Secrets come from files, never from the configuration.
    text = SHIPPED.read_text()
    assert "hooks.slack.com" not in text and "smtp_auth_password:" not in text


def test_the_local_stack_configuration_is_valid_and_mails_critical_alerts(
    amtool: Path, tmp_path: Path
) -> None:
    local = tmp_path / "alertmanager.yml"
    local.write_text(yaml.safe_dump(local_config(1025)))
    assert "SUCCESS" in _run(amtool, "check-config", str(local))
    assert _receivers(amtool, local, 'severity="critical"', 'scope_kind="ticker"') == ["email"]
    assert _receivers(amtool, local, 'severity="warning"', 'scope_kind="ticker"') == ["none"]
