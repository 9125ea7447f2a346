"""A live view of running studies: per study, trials done / total, best value, what runs."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class StudyProgress:
    """One bar per study, rendered on stderr so stdout stays clean for results. Without a
    terminal (a log file, CI) a live bar shows nothing: a line is printed per finished trial."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.console = Console(stderr=True)
        self.plain = enabled and not self.console.is_terminal
        self.last_logged: dict[TaskID, int] = {}
        self.labels: dict[TaskID, tuple[str, int]] = {}  # name and target, for plain lines
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("trials · best {task.fields[best]}"),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[running]}"),
            console=self.console,
            disable=not enabled or self.plain,
        )
        self.progress.start()

    def track(self, name: str, target: int, done: int) -> TaskID:
        task = self.progress.add_task(name, total=target, completed=done, best="-", running="")
        self.last_logged[task] = done
        self.labels[task] = (name, target)
        return task

    def message(self, task: TaskID, text: str) -> None:
        self.progress.update(task, running=text)

    def log(self, text: str) -> None:
        if self.enabled:
            self.console.print(text, markup=False, highlight=False)

    def update(
        self, task: TaskID, finished: int, best: float | None, running: list[str], elapsed: float
    ) -> None:
        """``finished``: trials COMPLETE or PRUNED; ``running``: what runs for this study now,
        e.g. ``["cpu-0→#3"]``."""
        best_text = "-" if best is None else f"{best:.4f}"
        if self.plain and finished != self.last_logged[task]:
            self.last_logged[task] = finished
            name, target = self.labels[task]
            self.log(
                f"{name}: {finished}/{target} trials finished, best {best_text}, {elapsed:.0f} s"
            )
        busy = ", ".join(sorted(running))
        self.progress.update(
            task, completed=finished, best=best_text, running=f"running: {busy}" if busy else ""
        )

    def close(self) -> None:
        self.progress.stop()
