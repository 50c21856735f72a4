"""The schemas of the custom resources the manifests use, from the CRDs their projects publish
in their Go modules (fetched with ``go mod download`` through the Go module proxy and cached
in Go's module cache): KEDA's ScaledObject and TriggerAuthentication, the Prometheus operator's
PrometheusRule."""

from __future__ import annotations

import json
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import yaml


class _Loader(yaml.SafeLoader):
    """YAML 1.1's ``=`` (the "value" type) appears as a plain string in some CRDs."""


_Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: str(node.value))

# (module, version, the CRD files in it)
SOURCES = {
    "keda.sh": ("github.com/kedacore/keda/v2", "v2.17.2", "config/crd/bases"),
    "monitoring.coreos.com": (
        "github.com/prometheus-operator/prometheus-operator",
        "v0.82.0",
        "example/prometheus-operator-crd",
    ),
}


@cache
def _module_dir(module: str, version: str) -> Path:
    go = shutil.which("go")
    assert go, "Go is needed to fetch the CRDs (go mod download)"
    done = subprocess.run([go, "mod", "download", "-json", f"{module}@{version}"],
                          capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return Path(json.loads(done.stdout)["Dir"])


@cache
def schema(api_version: str, kind: str) -> dict[str, Any]:
    """The OpenAPI v3 schema of ``kind`` at ``api_version`` (e.g. ``keda.sh/v1alpha1``)."""
    group, _, version = api_version.partition("/")
    module, module_version, folder = SOURCES[group]
    for path in sorted((_module_dir(module, module_version) / folder).glob("*.yaml")):
        crd = yaml.load(path.read_text(), Loader=_Loader)
        if crd.get("kind") != "CustomResourceDefinition" or crd["spec"]["names"]["kind"] != kind:
            continue
        for served in crd["spec"]["versions"]:
            if served["name"] == version:
                found: dict[str, Any] = served["schema"]["openAPIV3Schema"]
                return found
    raise AssertionError(f"no CRD for {kind} {api_version} in {module}@{module_version}")
