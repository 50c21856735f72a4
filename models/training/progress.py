"""A progress display for training: a bar over steps, the running loss and the dev scores."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class TrainProgress:
    """Feeds ``training.train``'s progress callback into a rich progress bar."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.bar = Progress(
            TextColumn("epoch {task.fields[epoch]}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} steps"),
            TextColumn("loss {task.fields[loss]:.3f}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
        )
        self.task = self.bar.add_task("train", total=None, epoch=0, loss=0.0)
        # Without a terminal (CI, a log file) the bar is invisible: print a line now and then.
        self.plain = not console.is_terminal

    def __enter__(self) -> TrainProgress:
        self.bar.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.bar.stop()

    def update(self, event: dict[str, Any]) -> None:
        """One progress event from training."""
        self.bar.update(
            self.task,
            completed=event["step"],
            total=event["total"],
            epoch=event["epoch"],
            loss=event["loss"] or 0.0,
        )
        if self.plain and event["step"] % 100 == 0:
            self.console.print(
                f"epoch {event['epoch']} step {event['step']}/{event['total']} "
                f"loss {event['loss'] or 0.0:.3f}"
            )
        if "dev" in event:
            scores = ", ".join(
                f"{name}: acc {m['accuracy']:.3f} F1 {m['macro_f1']:.3f}"
                for name, m in event["dev"].items()
            )
            self.console.print(f"epoch {event['epoch']} dev: {scores} (score {event['score']:.4f})")
