"""Experiments: a run's layout (runs/NAME), paired comparisons, retraining, presets."""
