"""The Kubernetes manifests agree with the code: commands that exist, settings that load,
environment variables that name real settings, and KEDA watching the groups and topics the
workers really use."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from streaming.topics import input_topics
from streaming.workers import ROLES
from tests.deploy import crds
from undertow.settings import Settings

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
PROCESS_ENV = {
    "UNDERTOW_CONFIG",
    "UNDERTOW_LOG_FORMAT",
    "UNDERTOW_LOG_LEVEL",
    "UNDERTOW_SECRETS_DIR",
}


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
            if name in PROCESS_ENV:  # read by the process, not settings
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


KUBERNETES = "1.33"
CUSTOM = ("keda.sh", "monitoring.coreos.com")


def _validate(doc: dict[str, Any]) -> None:
    """Against Kubernetes' own schemas (kubernetes-validate, strict: no unknown fields), or a
    custom resource against its project's CRD schema."""
    if doc["apiVersion"].split("/")[0] in CUSTOM:
        # (Not checked as a schema itself: CRDs carry Go regular expressions Python reads
        # otherwise.)
        jsonschema.Draft4Validator(crds.schema(doc["apiVersion"], doc["kind"])).validate(doc)
    else:
        kubernetes_validate.validate(doc, KUBERNETES, strict=True)


def test_every_manifest_passes_its_schema_and_a_broken_one_would_not() -> None:
    docs = list(_all().values()) + _docs(K8S / "secret.example.yaml")
    for doc in docs:
        _validate(doc)
    assert {d["kind"] for d in docs} >= {"ScaledObject", "TriggerAuthentication", "PrometheusRule"}
    # The checks are real: a misspelt field, a wrong type.
    deployment = copy.deepcopy(_all()["Deployment/score-worker"])
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContxt"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        _validate(deployment)
    scaled = copy.deepcopy(_all()["ScaledObject/score-worker"])
    scaled["spec"]["maxReplicaCount"] = "many"
    with pytest.raises(jsonschema.ValidationError):
        _validate(scaled)


def _deployments() -> dict[str, dict[str, Any]]:
    return {n: d for n, d in _all().items() if d["kind"] == "Deployment"}


def test_every_deployment_has_probes_resources_and_a_restricted_security_context() -> None:
    for name, doc in _deployments().items():
        pod = doc["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert isinstance(pod["securityContext"]["runAsUser"], int), name
        assert pod["securityContext"]["runAsUser"] > 0, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for container in pod["containers"]:
            ctx = container["securityContext"]
            assert ctx["allowPrivilegeEscalation"] is False, name
            assert ctx["readOnlyRootFilesystem"] is True, name
            assert ctx["capabilities"]["drop"] == ["ALL"], name
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]), name
            assert {"cpu", "memory"} <= set(container["resources"]["limits"]), name
            assert container["livenessProbe"]["httpGet"] and container["readinessProbe"], name
            mounts = {m["mountPath"] for m in container["volumeMounts"]
                      if not m.get("readOnly")}  # fmt: skip
            assert "/tmp" in mounts, name  # the only writable places are volumes


def test_probes_ask_what_each_component_needs() -> None:
    deployments = _deployments()
    for name in ("score-worker", "sink-worker"):
        (container,) = deployments[f"Deployment/{name}"]["spec"]["template"]["spec"]["containers"]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
        assert container["livenessProbe"]["httpGet"]["port"] == "metrics"
    (alerting,) = deployments["Deployment/alerting"]["spec"]["template"]["spec"]["containers"]
    # Its liveness asks nothing of Elasticsearch: a slow one must not restart the evaluator.
    assert alerting["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert alerting["readinessProbe"]["httpGet"]["path"] == "/healthz"


def test_the_state_undertow_writes_is_on_writable_volumes_and_models_are_shared() -> None:
    settings = _config()
    pods = {n: d["spec"]["template"]["spec"] for n, d in _deployments().items()}
    score = pods["Deployment/score-worker"]
    (container,) = score["containers"]
    writable = [m for m in container["volumeMounts"] if not m.get("readOnly")]

    def volume_of(path: Path) -> str:
        best = max((m for m in writable if str(path).startswith(m["mountPath"])),
                   key=lambda m: len(m["mountPath"]))  # fmt: skip
        return str(best["name"])

    assert volume_of(settings.streaming.data_dir) == "state"
    registry = volume_of(settings.models.registry_dir)
    [volume] = [v for v in score["volumes"] if v["name"] == registry]
    claim = _all()[f"PersistentVolumeClaim/{volume['persistentVolumeClaim']['claimName']}"]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]  # every score worker, one registry
    # POST /api/score reads the same registry, so it answers with the workers' version.
    alerting = pods["Deployment/alerting"]
    (api,) = alerting["containers"]
    [mount] = [
        m for m in api["volumeMounts"] if m["mountPath"] == str(settings.models.registry_dir)
    ]
    assert mount.get("readOnly") is True
    [shared] = [v for v in alerting["volumes"] if v["name"] == mount["name"]]
    assert (
        shared["persistentVolumeClaim"]["claimName"] == volume["persistentVolumeClaim"]["claimName"]
    )


def test_every_deployment_has_a_disruption_budget_and_the_network_policy() -> None:
    budgets = [d for d in _all().values() if d["kind"] == "PodDisruptionBudget"]
    policy = _all()["NetworkPolicy/undertow"]
    for doc in _deployments().values():
        labels = doc["spec"]["template"]["metadata"]["labels"]
        selected = [b for b in budgets
                    if b["spec"]["selector"]["matchLabels"].items() <= labels.items()]  # fmt: skip
        assert len(selected) == 1, doc["metadata"]["name"]
        assert policy["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
    ingress_ports = {p["port"] for rule in policy["spec"]["ingress"] for p in rule["ports"]}
    assert {8000, 9464, 9465} <= ingress_ports


def test_keda_triggers_authenticate_to_kafka() -> None:
    auth = {n.split("/")[1]: d for n, d in _all().items() if d["kind"] == "TriggerAuthentication"}
    secret = _docs(K8S / "secret.example.yaml")[0]["stringData"]
    for doc in (d for d in _all().values() if d["kind"] == "ScaledObject"):
        for trigger in doc["spec"]["triggers"]:
            ref = auth[trigger["authenticationRef"]["name"]]
            params = {t["parameter"]: t for t in ref["spec"]["secretTargetRef"]}
            assert {"sasl", "username", "password", "tls", "ca"} <= set(params)
            # Each names a key the example Secret shows.
            assert all(t["key"] in secret for t in params.values())
