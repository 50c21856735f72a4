"""What every command receives from the root of the command line: the settings, built once."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import typer

from undertow.settings import Settings, load_settings


@dataclass
class AppContext:
    """Carries ``--config`` to the commands and builds the settings on first use."""

    config_path: Path | None = None
    _settings: Settings | None = field(default=None, repr=False)

    def settings(self) -> Settings:
        """The frozen settings (a bad config raises ConfigError naming the key)."""
        if self._settings is None:
            self._settings = load_settings(self.config_path)
        return self._settings


def app_context(ctx: typer.Context) -> AppContext:
    """The AppContext the root callback stored on the click context."""
    obj = ctx.find_root().obj
    if not isinstance(obj, AppContext):
        obj = AppContext()
        ctx.find_root().obj = obj
    return obj
