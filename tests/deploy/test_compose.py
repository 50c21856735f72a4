"""deploy/docker-compose.yml cannot run here (no Docker); check it agrees with the defaults."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy.stack.alertmanager import local_config
from undertow.settings import Settings

COMPOSE = Path(__file__).resolve().parents[2] / "deploy" / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


def _host_ports(service: dict[str, Any]) -> set[int]:
    # "127.0.0.1:9092:9092" → 9092 (the host side)
    return {int(str(p).split(":")[-2]) for p in service.get("ports", [])}


def test_services_are_all_there(compose: dict[str, Any]) -> None:
    assert {"kafka", "elasticsearch", "kibana", "redis"} <= set(compose["services"])
    assert {"score-worker", "sink-worker", "alerting"} <= set(compose["services"])
    assert {"alertmanager", "mailpit"} <= set(compose["services"])


def test_host_ports_match_the_local_stack_defaults(compose: dict[str, Any]) -> None:
    stack = Settings().stack
    services = compose["services"]
    assert _host_ports(services["kafka"]) == {stack.kafka_port}
    assert _host_ports(services["elasticsearch"]) == {stack.elasticsearch_port}
    assert _host_ports(services["redis"]) == {stack.redis_port}
    assert _host_ports(services["kibana"]) == {5601}
    assert _host_ports(services["alertmanager"]) == {stack.alertmanager_port}
    assert _host_ports(services["mailpit"]) == {stack.mailpit_http_port, stack.mailpit_smtp_port}


def test_alertmanager_runs_the_local_configuration_with_mailpits_address(
    compose: dict[str, Any],
) -> None:
    service = compose["services"]["alertmanager"]
    [mount] = [v for v in service["volumes"] if v.endswith(":ro")]
    config = yaml.safe_load((COMPOSE.parent / mount.split(":")[0]).read_text())
    expected = local_config(1025)
    expected["global"]["smtp_smarthost"] = "mailpit:1025"
    assert config == expected
    env = compose["x-undertow-env"]
    assert env["UNDERTOW_ALERTING__ALERTMANAGER__URL"] == "http://alertmanager:9093"
    assert "alertmanager" in compose["services"]["alerting"]["depends_on"]


def test_infrastructure_has_health_checks_and_workers_wait_for_them(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    for name in ("kafka", "elasticsearch", "kibana", "redis", "alerting"):
        assert services[name]["healthcheck"]["test"], name
    for name in ("score-worker", "sink-worker", "alerting"):
        deps = services[name]["depends_on"]
        assert {"kafka", "elasticsearch", "redis"} <= set(deps)
        assert all(d["condition"] == "service_healthy" for d in deps.values())


def test_kafka_runs_kraft_and_advertises_the_host_port(compose: dict[str, Any]) -> None:
    env = compose["services"]["kafka"]["environment"]
    assert "controller" in env["KAFKA_PROCESS_ROLES"]
    assert "localhost:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    internal = compose["services"]["score-worker"]["environment"]
    assert internal["UNDERTOW_KAFKA__BOOTSTRAP_SERVERS"].split(":")[0] == "kafka"
    assert (
        f"kafka:{internal['UNDERTOW_KAFKA__BOOTSTRAP_SERVERS'].split(':')[1]}"
        in (env["KAFKA_ADVERTISED_LISTENERS"])
    )


def test_elasticsearch_and_kibana_share_the_client_major(compose: dict[str, Any]) -> None:
    client_major = version("elasticsearch").split(".")[0]
    for name in ("elasticsearch", "kibana"):
        image_version = compose["services"][name]["image"].rsplit(":", 1)[1]
        assert image_version.split(".")[0] == client_major, name
    assert Settings().stack.elasticsearch_version.split(".")[0] == client_major


def test_redis_persists_with_aof(compose: dict[str, Any]) -> None:
    command = compose["services"]["redis"]["command"]
    assert command[command.index("--appendonly") + 1] == "yes"


DOCKERFILE = COMPOSE.parent / "Dockerfile"


def _image_user_and_home() -> tuple[str, Path]:
    """The Dockerfile's final USER and WORKDIR."""
    lines = [line.split(None, 1) for line in DOCKERFILE.read_text().splitlines() if line.strip()]
    user = [rest for word, *rest in lines if word == "USER"][-1][0]
    home = [rest for word, *rest in lines if word == "WORKDIR"][-1][0]
    return user.strip(), Path(home.strip())


def test_no_undertow_service_writes_where_its_user_cannot(compose: dict[str, Any]) -> None:
    user, home = _image_user_and_home()
    assert user.split(":")[0].isdigit() and user != "0"  # numeric and not root
    assert "chown -R 10001:10001 /var/lib/undertow" in DOCKERFILE.read_text()
    settings = Settings()
    # What the workers write (paths relative to the working directory), per service.
    writes = {
        "score-worker": [settings.streaming.data_dir, settings.models.registry_dir],
        "sink-worker": [settings.streaming.data_dir],
        "alerting": [],
    }
    for name, paths in writes.items():
        service = compose["services"][name]
        assert service.get("user", user) == user, name
        mounts = [Path(v.split(":")[1]) for v in service.get("volumes", [])
                  if not v.endswith(":ro")]  # fmt: skip
        for path in paths:
            target = path if path.is_absolute() else home / path
            assert any(target.is_relative_to(m) for m in mounts), (name, target)
    # The shared models' registry is the score worker's volume, not its own copy; the alerting
    # service reads it for POST /api/score.
    assert any(v.startswith("models:") for v in compose["services"]["score-worker"]["volumes"])
    registry = str(home / settings.models.registry_dir)
    assert f"models:{registry}:ro" in compose["services"]["alerting"]["volumes"]


def test_services_restart_and_kibana_gets_the_saved_objects(compose: dict[str, Any]) -> None:
    services = compose["services"]
    one_shot = {"kibana-import"}
    for name, service in services.items():
        if name not in one_shot:
            assert service.get("restart") == "unless-stopped", name
    importer = services["kibana-import"]
    assert importer["depends_on"]["kibana"]["condition"] == "service_healthy"
    mounted = importer["volumes"][0].split(":")[0]
    assert (COMPOSE.parent / mounted).is_file()
    assert "/api/saved_objects/_import?overwrite=true" in " ".join(importer["command"])


def test_the_monitoring_profile_scrapes_undertow_with_its_rules(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("prometheus", "grafana"):
        assert services[name]["profiles"] == ["monitoring"]
        for volume in services[name]["volumes"]:
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (COMPOSE.parent / source).exists(), source
    config = yaml.safe_load((COMPOSE.parent / "prometheus" / "prometheus.yml").read_text())
    targets = {t for job in config["scrape_configs"] for c in job["static_configs"]
               for t in c["targets"]}  # fmt: skip
    base = Settings().streaming.metrics_port
    assert base is not None
    assert targets == {f"score-worker:{base}", f"sink-worker:{base + 1}", "alerting:8000"}
