"""The report: a run loaded from storage and runs/NAME, its analyses, and its sections (each
``section(report) -> list[str]``, in order in ``write.SECTIONS``), with each group's words in a
``*_text`` module and its figures in a ``*_plots`` module."""
