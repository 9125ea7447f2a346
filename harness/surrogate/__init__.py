"""Surrogate tasks: a regression model of a task's objective, fitted to the trials a storage
already holds, that evaluates in microseconds instead of training a net.

``encoding.py`` turns a trial's parameters into model features (log scale where the
distribution is log, one column per category), ``model.py`` fits and chooses the model by
cross-validation and keeps what it needs to predict (the objective, the trial's seconds, the
seed-to-seed noise), ``store.py`` saves and loads it under ``runs/surrogates/NAME/``. The
package takes plain trials and records; which studies and run files they come from is
``harness.experiment.surrogate_source``'s concern.
"""
