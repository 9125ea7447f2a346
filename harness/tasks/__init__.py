"""Tasks: what a study optimises. A task is a search space (the MLP family's five
hyperparameters) on one tabular data set: the lab's Adult or scikit-learn's bundled sets by
name (``registry.py``), or a user's CSV/Parquet file described in a space file's ``[data]``
table (``toml_data.py``). ``spec.py`` says what a task is (its data, its kind's objective,
direction and primary outcome), ``frames.py`` reads and checks a table, ``tabular.py`` splits
and encodes it. How a trial of the MLP family trains is ``harness.search.task``'s; how a
study, its task and its space come together is ``harness.search.task_space``'s."""
