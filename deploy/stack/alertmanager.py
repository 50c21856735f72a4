"""Prometheus Alertmanager (routes, grouping, inhibition, silences, receivers), built from its Go
module with ``go install`` and kept in the cache like Kafka's jars; ``amtool`` comes with it.

Without ``stack.alertmanager_config`` it runs a local configuration: critical alerts are
e-mailed to the local Mailpit (grouped by incident), warnings go to no receiver (they are still
listed and silenceable), and a market-wide alert inhibits the alerts of its incident. The
shipped production example is ``deploy/alertmanager/alertmanager.yml``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from deploy.stack.exceptions import StackError
from deploy.stack.service import Health, Launch, Service, http_health
from deploy.stack.tools import go_install

MODULE = "github.com/prometheus/alertmanager"
# Where the local configuration sends e-mail (Mailpit accepts any recipient).
LOCAL_RECIPIENT = "analysts@undertow.local"


def local_config(smtp_port: int) -> dict[str, Any]:
    """The local stack's Alertmanager configuration (see the module's docstring)."""
    return {
        "global": {
            "smtp_smarthost": f"127.0.0.1:{smtp_port}",
            "smtp_from": "undertow@undertow.local",
            "smtp_require_tls": False,
            "resolve_timeout": "5m",
        },
        "route": {
            "receiver": "none",
            "group_by": ["namespace", "incident"],
            "group_wait": "5s",
            "group_interval": "30s",
            "repeat_interval": "4h",
            "routes": [{"receiver": "email", "matchers": ['severity="critical"']}],
        },
        "inhibit_rules": [
            {
                "source_matchers": ['scope_kind="all"'],
                "target_matchers": ['scope_kind=~"topic|ticker|source"'],
                "equal": ["namespace", "incident"],
            }
        ],
        "receivers": [
            {"name": "none"},
            {
                "name": "email",
                "email_configs": [{"to": LOCAL_RECIPIENT, "send_resolved": True}],
            },
        ],
    }


class AlertmanagerService(Service):
    """One Alertmanager on 127.0.0.1, without gossip (``--cluster.listen-address=``)."""

    name = "alertmanager"

    @property
    def port_keys(self) -> dict[str, int]:
        return {"alertmanager_port": self.settings.alertmanager_port}

    @property
    def version(self) -> str:
        return self.settings.alertmanager_version

    @property
    def bin_dir(self) -> Path:
        """Where this version's ``alertmanager`` and ``amtool`` are installed."""
        return self.cache_dir / f"alertmanager-{self.version}"

    @property
    def amtool(self) -> Path:
        """Alertmanager's command line (``amtool silence query``, ``check-config``...)."""
        return self.bin_dir / "amtool"

    @property
    def url(self) -> str:
        """The API's base URL."""
        return f"http://127.0.0.1:{self.settings.alertmanager_port}"

    def install(self) -> None:
        for tool in ("alertmanager", "amtool"):
            if not (self.bin_dir / tool).exists():
                go_install(
                    f"{MODULE}/cmd/{tool}",
                    f"v{self.version}",
                    self.bin_dir,
                    f"building {tool} {self.version} (go install)",
                )

    def config_file(self) -> Path:
        """The configuration it runs with: the configured file, or the local one written now."""
        if self.settings.alertmanager_config is not None:
            path = self.settings.alertmanager_config.resolve()
            if not path.is_file():
                raise StackError(f"stack.alertmanager_config: {path} is not a file")
            return path
        path = self.data_dir / "alertmanager.yml"
        path.write_text(yaml.safe_dump(local_config(self.settings.mailpit_smtp_port)))
        return path

    def prepare(self) -> Launch:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        argv = [
            str(self.bin_dir / "alertmanager"),
            f"--config.file={self.config_file()}",
            f"--storage.path={self.data_dir / 'storage'}",
            f"--web.listen-address=127.0.0.1:{self.settings.alertmanager_port}",
            f"--web.external-url={self.url}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("UNDERTOW_")}
        return Launch(argv, env, self.data_dir)

    def health(self) -> Health:
        return http_health(f"{self.url}/-/ready")
