"""The report: a run loaded from storage and runs/NAME, stats, plots, a module per section."""
