"""The shape of harness/report: modules and functions small enough to read, every section one
signature, and no import cycle among its modules (TYPE_CHECKING imports included)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

REPORT = Path(__file__).resolve().parent.parent / "harness" / "report"
MAX_MODULE_LINES = 350
MAX_FUNCTION_LINES = 60
MODULES = sorted(REPORT.glob("*.py"))


def _functions(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_modules_and_functions_are_small(path):
    text = path.read_text()
    lines = len(text.splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.name}: {lines} lines"
    long = {
        f.name: f.end_lineno - f.lineno + 1
        for f in _functions(ast.parse(text))
        if f.end_lineno is not None and f.end_lineno - f.lineno + 1 > MAX_FUNCTION_LINES
    }
    assert not long, f"{path.name}: functions over {MAX_FUNCTION_LINES} lines: {long}"


def _report_imports(path: Path) -> set[str]:
    """The harness.report modules ``path`` imports, anywhere in it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "harness.report":
                found |= {f"harness.report.{alias.name}" for alias in node.names}
            elif node.module.startswith("harness.report."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("harness.report.")}
    return found


def test_no_import_cycle_inside_the_report_package():
    graph = {f"harness.report.{p.stem}": _report_imports(p) for p in MODULES}
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            cycle = [*path[path.index(module) :], module]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if module in done:
            return
        for imported in sorted(graph.get(module, ())):
            visit(imported, [*path, module])
        done.add(module)

    for module in graph:
        visit(module, [])


def test_every_section_takes_the_report_context():
    from harness.report.write import SECTIONS

    assert len(set(SECTIONS)) == len(SECTIONS)
    for section in SECTIONS:
        parameters = list(inspect.signature(section).parameters)
        assert parameters == ["report"], (section.__name__, parameters)


def test_run_prints_the_verdict_write_report_returns(capsys, monkeypatch, tmp_path):
    """'harness run' prints the verdict's sentence as write_report returns it (data), not as
    found in the markdown: the faked report file holds no verdict at all."""
    import harness.experiment.compare
    import harness.report.write
    import harness.search.storage
    from harness.cli.app import run

    def fake_report(name, url, out, *_):
        out.write_text("# a report without a verdict section\n")
        return harness.report.write.ReportResult(out, "TPE is better than random by +0.0020.")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(harness.search.storage, "open_storage", lambda url: object())
    monkeypatch.setattr(
        harness.experiment.compare, "run_compare", lambda c, log: Path(c.runs_root) / c.run
    )
    monkeypatch.setattr(harness.report.write, "write_report", fake_report)
    url = f"sqlite:///{tmp_path / 'h.db'}"
    assert run(["run", "--preset", "smoke", "--executor", "local", "--storage", url]) == 0
    out = capsys.readouterr().out
    assert "verdict: TPE is better than random by +0.0020.\n" in out
    assert "report: reports/smoke.md\n" in out
