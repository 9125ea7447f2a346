"""A live view of a running study: trials done / total, best value, what each worker runs."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class StudyProgress:
    """Rendered on stderr so stdout stays clean for results."""

    def __init__(self, name: str, target: int, done: int, enabled: bool = True) -> None:
        self.enabled = enabled
        self.console = Console(stderr=True)
        # Without a terminal (a log file, CI) a live bar shows nothing: print a line per trial.
        self.plain = enabled and not self.console.is_terminal
        self.last_logged = done
        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("trials · best {task.fields[best]}"), TimeElapsedColumn(),
            TextColumn("left"), TimeRemainingColumn(),
            TextColumn("{task.fields[running]}"),
            console=self.console, disable=not enabled or self.plain,
        )  # fmt: skip
        self.task = self.progress.add_task(name, total=target, completed=done, best="-",
                                           running="")  # fmt: skip
        self.progress.start()

    def message(self, text: str) -> None:
        self.progress.update(self.task, running=text)

    def update(self, complete: int, best: float | None, running: dict[str, int],
               elapsed: float) -> None:  # fmt: skip
        if self.plain and complete != self.last_logged:
            self.last_logged = complete
            best_text = "-" if best is None else f"{best:.4f}"
            self.console.print(
                f"{self.progress.tasks[0].description}: {complete}/"
                f"{self.progress.tasks[0].total} trials finished, best "
                f"{best_text}, {elapsed:.0f} s",
                markup=False,
                highlight=False,
            )
        busy = ", ".join(f"{worker}→#{number}" for worker, number in sorted(running.items()))
        self.progress.update(
            self.task,
            completed=complete,
            best="-" if best is None else f"{best:.4f}",
            running=f"running: {busy}" if busy else "",
        )

    def close(self) -> None:
        self.progress.stop()
