"""Mailpit: an SMTP server with an HTTP API (Go module, ``go install``), where the local
Alertmanager's e-mails land, to be read on its web page or through its API."""

from __future__ import annotations

import os
from pathlib import Path

from deploy.stack.service import Health, Launch, Service, http_health
from deploy.stack.tools import go_install


class MailpitService(Service):
    """SMTP and the web page/API on 127.0.0.1; messages kept in a database under its data."""

    name = "mailpit"

    @property
    def port_keys(self) -> dict[str, int]:
        s = self.settings
        return {"mailpit_http_port": s.mailpit_http_port, "mailpit_smtp_port": s.mailpit_smtp_port}

    @property
    def version(self) -> str:
        return self.settings.mailpit_version

    @property
    def binary(self) -> Path:
        """The installed ``mailpit``."""
        return self.cache_dir / f"mailpit-{self.version}" / "mailpit"

    @property
    def url(self) -> str:
        """The web page's and API's base URL."""
        return f"http://127.0.0.1:{self.settings.mailpit_http_port}"

    def install(self) -> None:
        if not self.binary.exists():
            go_install(
                "github.com/axllent/mailpit",
                f"v{self.version}",
                self.binary.parent,
                f"building mailpit {self.version} (go install)",
            )

    def prepare(self) -> Launch:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        argv = [
            str(self.binary),
            f"--listen=127.0.0.1:{self.settings.mailpit_http_port}",
            f"--smtp=127.0.0.1:{self.settings.mailpit_smtp_port}",
            f"--database={self.data_dir / 'mailpit.db'}",
            "--smtp-auth-accept-any",
            "--smtp-auth-allow-insecure",
            "--disable-version-check",
            "--max=5000",
            "--quiet",
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("UNDERTOW_")}
        return Launch(argv, env, self.data_dir)

    def health(self) -> Health:
        return http_health(f"{self.url}/livez")
