"""The alerts on undertow itself: checked and unit-tested by the real ``promtool`` (a case per
alert, firing and not), built only on metrics undertow exports, each naming its runbook, and the
same in the Kubernetes PrometheusRule."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from deploy.stack.promtool import promtool
from tests.deploy.test_grafana import _base, _exported
from undertow.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "undertow-rules.yml"
TESTS = ROOT / "deploy" / "prometheus" / "undertow-rules.test.yml"
RUNBOOK = ROOT / "docs" / "runbook.md"


@pytest.fixture(scope="module")
def tool() -> Path:
    return promtool(Settings().stack)  # go install on first use, then cached


def _alerts() -> list[dict[str, object]]:
    return [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]


def _run(tool: Path, *args: str) -> str:
    done = subprocess.run([str(tool), *args], capture_output=True, text=True, timeout=120,
                          check=False, cwd=RULES.parent)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_promtool_checks_the_rules_and_passes_their_tests(tool: Path) -> None:
    assert "SUCCESS" in _run(tool, "check", "rules", RULES.name)
    assert "SUCCESS" in _run(tool, "test", "rules", TESTS.name)


def test_every_alert_has_a_test_case_a_runbook_and_exported_metrics() -> None:
    tested = {t["alertname"] for case in yaml.safe_load(TESTS.read_text())["tests"]
              for t in case["alert_rule_test"]}  # fmt: skip
    anchors = {"#" + h.lower().replace(" ", "-") for h in
               re.findall(r"^## (.+)$", RUNBOOK.read_text(), re.MULTILINE)}  # fmt: skip
    exported = _exported()
    for alert in _alerts():
        name = str(alert["alert"])
        assert name in tested, name
        annotations = alert["annotations"]
        assert isinstance(annotations, dict)
        link = str(annotations["runbook_url"])
        assert link.startswith("docs/runbook.md#") and link.split("md")[1] in anchors, link
        used = set(re.findall(r"\bundertow_[a-z_]+", str(alert["expr"])))
        assert used and {m for m in used if _base(m) not in exported} == set(), name


def test_the_kubernetes_prometheus_rule_holds_the_same_groups() -> None:
    rule = yaml.safe_load((ROOT / "deploy" / "k8s" / "prometheus-rule.yaml").read_text())
    assert rule["kind"] == "PrometheusRule"
    assert rule["spec"] == yaml.safe_load(RULES.read_text())


def test_the_compose_prometheus_configuration_is_valid(tool: Path, tmp_path: Path) -> None:
    config = (RULES.parent / "prometheus.yml").read_text()
    # As mounted in the container, the rules file sits at /etc/prometheus/.
    local = tmp_path / "prometheus.yml"
    local.write_text(config.replace("/etc/prometheus/undertow-rules.yml", str(RULES)))
    assert "SUCCESS" in _run(tool, "check", "config", str(local))
