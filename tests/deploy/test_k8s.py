"""The Kubernetes manifests agree with the code: commands that exist, settings that load,
environment variables that name real settings, and KEDA watching the groups and topics the
workers really use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from streaming.topics import input_topics
from streaming.workers import ROLES
from undertow.settings import Settings

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"


def _docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _all() -> dict[str, dict[str, Any]]:
    out = {}
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in _docs(path):
            out[f"{doc['kind']}/{doc['metadata']['name']}"] = doc
    return out


def _config() -> Settings:
    config = _all()["ConfigMap/undertow-config"]
    return Settings(**yaml.safe_load(config["data"]["undertow.yaml"]))


def _containers() -> list[dict[str, Any]]:
    return [
        c
        for doc in _all().values()
        if doc["kind"] == "Deployment"
        for c in doc["spec"]["template"]["spec"]["containers"]
    ]


def test_kustomization_lists_every_manifest_and_the_config_loads() -> None:
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    present = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml", "secret.example.yaml"}
    assert listed == present
    settings = _config()
    assert settings.kafka.partitions >= 2


def test_every_container_runs_a_real_command_with_real_settings() -> None:
    roles = set()
    for container in _containers():
        args = container["args"]
        assert args[0] in ("worker", "alerting")
        if args[0] == "worker":
            assert args[1] == "--role" and args[2] in ROLES
            roles.add(args[2])
        for env in container.get("env", []):
            name = env["name"]
            if name == "UNDERTOW_CONFIG":
                continue
            section, key = name.removeprefix("UNDERTOW_").lower().split("__")
            assert key in type(getattr(Settings(), section)).model_fields, name
    assert roles == set(ROLES)


def test_the_gpu_variant_patches_the_score_workers_onto_a_gpu_with_the_cuda_device() -> None:
    (doc,) = _docs(K8S / "gpu" / "score-worker-gpu.yaml")
    container = doc["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert {"name": "UNDERTOW_MODELS__DEVICE", "value": "cuda"} in container["env"]
    assert f"Deployment/{doc['metadata']['name']}" in _all()
    assert container["name"] in {
        c["name"]
        for c in _all()["Deployment/score-worker"]["spec"]["template"]["spec"]["containers"]
    }


def test_keda_scales_each_role_on_the_lag_of_its_own_group_and_topics() -> None:
    settings = _config()
    objects = {n: d for n, d in _all().items() if d["kind"] == "ScaledObject"}
    score = objects["ScaledObject/score-worker"]
    sink = objects["ScaledObject/sink-worker"]
    prefix = settings.streaming.group_prefix
    score_triggers = [t["metadata"] for t in score["spec"]["triggers"]]
    assert {t["consumerGroup"] for t in score_triggers} == {f"{prefix}-score"}
    assert {t["topic"] for t in score_triggers} == set(
        input_topics(settings.kafka.topics, settings.streaming)
    )
    # More score replicas than partitions would idle.
    assert score["spec"]["maxReplicaCount"] <= settings.kafka.partitions
    (sink_trigger,) = [t["metadata"] for t in sink["spec"]["triggers"]]
    assert sink_trigger["consumerGroup"] == f"{prefix}-sink"
    assert sink_trigger["topic"] == settings.kafka.topics.scored
    for trigger in [*score_triggers, sink_trigger]:
        assert trigger["bootstrapServers"] == settings.kafka.bootstrap_servers


def test_workers_expose_their_metrics_port_for_scraping() -> None:
    settings = _config()
    base = settings.streaming.metrics_port
    assert base is not None
    for name, offset in (("score-worker", 0), ("sink-worker", 1)):
        pod = _all()[f"Deployment/{name}"]["spec"]["template"]
        (container,) = pod["spec"]["containers"]
        assert {"name": "metrics", "containerPort": base + offset} in container["ports"]
        assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(base + offset)
