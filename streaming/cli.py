"""The ``undertow`` command line: one root, a sub-command group per subsystem."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from alerting.cli import alerting_app, thresholds_app
from deploy.cli import app as stack_app
from models.cli import app as models_app
from streaming.commands import app as pipeline_app
from streaming.context import AppContext
from streaming.exceptions import ConfigError, UndertowError

app = typer.Typer(
    name="undertow",
    help="Real-time financial news and social sentiment monitoring.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(stack_app, name="stack")
# The offline model commands sit at the top level: `undertow train`, `undertow evaluate`, ...
app.add_typer(models_app)
app.add_typer(pipeline_app)
app.add_typer(alerting_app, name="alerting")
app.add_typer(thresholds_app, name="thresholds")


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            envvar="UNDERTOW_CONFIG",
            help="YAML settings file; UNDERTOW_* environment variables override it.",
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="Logging level.")] = "WARNING",
) -> None:
    """undertow: Kafka → transformer scoring → Redis windows + Elasticsearch → spike alerts."""
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    ctx.obj = AppContext(config_path=config)


def main() -> None:
    """Entry point of the ``undertow`` console script; maps errors to exit codes."""
    err = Console(stderr=True)
    try:
        app()
    except ConfigError as exc:
        err.print(f"[red]config error:[/] {exc}", highlight=False)
        sys.exit(2)
    except UndertowError as exc:
        err.print(f"[red]error:[/] {exc}", highlight=False)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
