"""Search: space files, the search task, the study driver, worker pools, interrupts, progress."""
