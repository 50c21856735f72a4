"""The ``undertow`` command line: one root, a sub-command group per subsystem."""

from __future__ import annotations

import sys
from importlib.metadata import version as dist_version
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from alerting.exceptions import AlertingError
from alerting.exceptions import ConfigError as AlertingConfigError
from deploy.stack.exceptions import StackError
from models.exceptions import ModelsError
from models.serving.provenance import code_version
from streaming.exceptions import StreamingError
from undertow.commands.alerting import alerting_app, thresholds_app
from undertow.commands.alerts import app as alerts_app
from undertow.commands.dlq import app as dlq_app
from undertow.commands.entities import app as entities_app
from undertow.commands.feedback import app as feedback_app
from undertow.commands.model_tools import app as model_tools_app
from undertow.commands.models import app as models_app
from undertow.commands.pipeline import app as pipeline_app
from undertow.commands.stack import app as stack_app
from undertow.context import AppContext
from undertow.exceptions import ConfigError, ShellError
from undertow.logs import configure


def package_version() -> str:
    """The installed package's version."""
    return dist_version("undertow")


# What a user sees as "error:" with exit 1: each subsystem's own base error.
USER_ERRORS = (StreamingError, ModelsError, AlertingError, StackError, ShellError)

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
app.add_typer(alerts_app, name="alerts")
app.add_typer(dlq_app, name="dlq")
app.add_typer(entities_app, name="entities")
app.add_typer(feedback_app, name="feedback")
app.add_typer(model_tools_app, name="models")


def _version(show: bool) -> None:
    if show:
        typer.echo(f"undertow {package_version()} (code {code_version()})")
        raise typer.Exit()


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
    log_level: Annotated[
        str | None, typer.Option(help="Logging level (default: $UNDERTOW_LOG_LEVEL or INFO).")
    ] = None,
    log_format: Annotated[
        str | None,
        typer.Option(help="text, or json: one ECS object a line (default: $UNDERTOW_LOG_FORMAT)."),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """undertow: Kafka → transformer scoring → Redis windows + Elasticsearch → spike alerts."""
    configure(log_level, log_format, version=package_version())
    ctx.obj = AppContext(config_path=config)


def main() -> None:
    """Entry point of the ``undertow`` console script; maps errors to exit codes."""
    err = Console(stderr=True)
    try:
        app()
    except (ConfigError, AlertingConfigError) as exc:
        err.print(f"[red]config error:[/] {exc}", highlight=False)
        sys.exit(2)
    except USER_ERRORS as exc:
        err.print(f"[red]error:[/] {exc}", highlight=False)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
