"""The samplers a study can use: the built-ins by name, and a user's own as ``module:Class``.

A sampler is chosen by a *spec*: a built-in name (``harness.choices.SAMPLERS``) or
``module:Class[:{json kwargs}]``. Each spec has a *label* that names its studies
(``RUN/<label>/r<repeat>``): the name itself, or the class name lower-cased. Every study
stores its sampler's *settings* (a JSON object with every setting written out, the seed
included), and the sampler is always built from those settings, so a resumed study keeps the
settings it was created with.

Optuna is imported only when a sampler is built or a user class is checked: ``harness --help``
lists the built-in names from ``harness.choices`` without it.
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.choices import SAMPLERS
from harness.errors import HarnessError

if TYPE_CHECKING:
    from optuna.samplers import BaseSampler

TPE_STARTUP_TRIALS = 10  # random trials before TPE models the results (Optuna's default)
GP_STARTUP_TRIALS = 10  # random trials before the Gaussian process is fitted (Optuna's default)
LABEL = re.compile(r"[A-Za-z0-9_-]+")  # what harness.experiment.runs.parse_study_name accepts
SPEC_HELP = "module:Class[:JSON object of keyword arguments]"


# ---------------------------------------------------------------- the built-ins


def _independent(seed: int) -> dict[str, Any]:
    # Parameters a model-based sampler cannot handle jointly (a categorical for CMA-ES and QMC,
    # or the first trial) come from this random sampler, seeded like the study.
    return {"name": "RandomSampler", "seed": seed}


def _random_sampler(settings: dict[str, Any]) -> BaseSampler:
    from optuna.samplers import RandomSampler

    return RandomSampler(seed=settings["seed"])


def _with_independent(cls_name: str) -> Callable[[dict[str, Any]], BaseSampler]:
    """A factory calling ``optuna.samplers.<cls_name>`` with the settings as keywords (the
    independent sampler's record turned into a RandomSampler)."""

    def build(settings: dict[str, Any]) -> BaseSampler:
        import warnings

        import optuna

        kwargs = {k: v for k, v in settings.items() if k != "name"}
        if "independent_sampler" in kwargs:
            kwargs["independent_sampler"] = _random_sampler(kwargs["independent_sampler"])
        # QMCSampler and CMA-ES's with_margin are "experimental" in Optuna; the settings record
        # says what was used, and a warning per study would bury the progress display
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return getattr(optuna.samplers, cls_name)(**kwargs)

    return build


@dataclass(frozen=True)
class BuiltinSampler:
    """A built-in sampler: its name on the command line, its title in reports, every setting
    as a function of the seed, and how to build it from those settings."""

    name: str
    title: str
    settings: Callable[[int], dict[str, Any]]
    factory: Callable[[dict[str, Any]], BaseSampler]
    # A resumed study draws with a new seed mixed from the trial count, so that it does not
    # replay the proposals of the first session. Not QMC: its Sobol sequence continues from the
    # sample index Optuna keeps in the storage, and only the original scrambling seed
    # continues the same sequence (a new seed would start a fresh one and lose its spread).
    reseed_on_resume: bool = True


BUILTINS: dict[str, BuiltinSampler] = {
    s.name: s
    for s in (
        BuiltinSampler(
            "tpe",
            "TPE",
            lambda seed: {
                "name": "TPESampler",
                "n_startup_trials": TPE_STARTUP_TRIALS,
                "multivariate": True,
                "constant_liar": True,
                "seed": seed,
            },
            _with_independent("TPESampler"),
        ),
        BuiltinSampler(
            "random",
            "random",
            lambda seed: {"name": "RandomSampler", "seed": seed},
            _random_sampler,
        ),
        BuiltinSampler(
            "qmc",
            "QMC (Sobol)",
            # scrambled: an unscrambled Sobol sequence starts at the corner of the space and
            # every seed would draw the same points
            lambda seed: {
                "name": "QMCSampler",
                "qmc_type": "sobol",
                "scramble": True,
                "seed": seed,
                "independent_sampler": _independent(seed),
                "warn_independent_sampling": False,
            },
            _with_independent("QMCSampler"),
            reseed_on_resume=False,
        ),
        BuiltinSampler(
            "gp",
            "GP",
            lambda seed: {
                "name": "GPSampler",
                "n_startup_trials": GP_STARTUP_TRIALS,
                "deterministic_objective": False,  # training is noisy across seeds
                "seed": seed,
                "independent_sampler": _independent(seed),
                "warn_independent_sampling": False,
            },
            _with_independent("GPSampler"),
        ),
        BuiltinSampler(
            "cmaes",
            "CMA-ES",
            # with_margin keeps integer parameters (hidden_size) from collapsing onto one value;
            # categoricals (batch_size) are sampled by the independent sampler
            lambda seed: {
                "name": "CmaEsSampler",
                "n_startup_trials": 1,
                "sigma0": None,
                "restart_strategy": None,
                "popsize": None,
                "with_margin": True,
                "consider_pruned_trials": False,
                "seed": seed,
                "independent_sampler": _independent(seed),
                "warn_independent_sampling": False,
            },
            _with_independent("CmaEsSampler"),
        ),
    )
}
assert tuple(BUILTINS) == SAMPLERS, "harness.choices.SAMPLERS lists the built-ins, in order"
TITLES = {name: s.title for name, s in BUILTINS.items()}
BY_CLASS = {s.settings(0)["name"]: s for s in BUILTINS.values()}  # a stored record's built-in


# ---------------------------------------------------------------- a user's sampler


@dataclass(frozen=True)
class UserSpec:
    """``module:Class[:{json kwargs}]``, parsed (nothing imported yet)."""

    module: str
    cls: str
    kwargs: dict[str, Any]

    @property
    def label(self) -> str:
        return self.cls.lower()


def parse_user_spec(spec: str) -> UserSpec:
    """Parse ``module:Class[:json]`` without importing anything; HarnessError on bad syntax."""
    module, _, rest = spec.partition(":")
    cls, _, text = rest.partition(":")
    names_ok = all(part.isidentifier() for part in module.split(".")) and cls.isidentifier()
    if not names_ok:
        raise HarnessError(
            f"a sampler must be one of {list(SAMPLERS)} or {SPEC_HELP}, but got {spec!r}"
        )
    kwargs: Any = {}
    if text:
        try:
            kwargs = json.loads(text)
        except json.JSONDecodeError as err:
            raise HarnessError(
                f"a sampler's keyword arguments must be a JSON object, but got {text!r} ({err.msg})"
            ) from None
    if not isinstance(kwargs, dict):
        raise HarnessError(f"a sampler's keyword arguments must be a JSON object, but got {text!r}")
    parsed = UserSpec(module, cls, kwargs)
    if not LABEL.fullmatch(parsed.label) or parsed.label in BUILTINS:
        raise HarnessError(
            f"a user sampler's class name, lower-cased, names its studies and "
            f"must be letters, digits, '_' or '-' and no built-in name "
            f"{list(SAMPLERS)}, but got {parsed.label!r} from {spec!r}"
        )
    return parsed


def user_class(spec: UserSpec) -> type:
    """Import the spec's class; HarnessError unless it is an Optuna BaseSampler subclass."""
    from optuna.samplers import BaseSampler

    where = f"{spec.module}:{spec.cls}"
    try:
        module = importlib.import_module(spec.module)
    except Exception as err:  # any error while importing the user's module is theirs to see
        raise HarnessError(
            f"a user sampler's module must be importable, but {spec.module!r} "
            f"is not ({type(err).__name__}: {err}; is its folder on "
            "PYTHONPATH?)"
        ) from None
    cls = getattr(module, spec.cls, None)
    if cls is None:
        raise HarnessError(
            f"a user sampler's class must exist in its module, but {where!r} has no {spec.cls!r}"
        )
    if not (isinstance(cls, type) and issubclass(cls, BaseSampler)):
        raise HarnessError(
            f"a user sampler must be a subclass of optuna.samplers.BaseSampler, "
            f"but {where!r} is {cls!r}"
        )
    return cls


def _accepts_seed(cls: type) -> bool:
    try:
        parameters = inspect.signature(cls).parameters
    except (TypeError, ValueError):  # a signature Python cannot read: do not guess
        return False
    return "seed" in parameters


# ---------------------------------------------------------------- the public entry points


def sampler_label(spec: str) -> str:
    """The label that names the studies of ``spec`` (light: imports nothing)."""
    return spec if spec in BUILTINS else parse_user_spec(spec).label


def check_sampler(spec: str) -> str:
    """``spec`` if it names a sampler that can be built (a user class is imported and checked);
    HarnessError stating the rule and the value otherwise."""
    if spec in BUILTINS:
        return spec
    if ":" not in spec:
        raise HarnessError(
            f"a sampler must be one of {list(SAMPLERS)} or {SPEC_HELP}, but got {spec!r}"
        )
    user_class(parse_user_spec(spec))
    return spec


def check_distinct(specs: tuple[str, ...] | list[str]) -> None:
    """The samplers of one run need distinct labels (they name its studies)."""
    labels = [sampler_label(s) for s in specs]
    if not specs or len(set(labels)) != len(labels):
        raise HarnessError(
            f"--samplers must be one or more samplers with distinct labels (a "
            f"user sampler's label is its class name lower-cased), but got "
            f"{list(specs)} (labels {labels})"
        )


def sampler_settings(spec: str, seed: int) -> dict[str, Any]:
    """Every setting of ``spec``'s sampler with ``seed``, as a JSON-serialisable record."""
    if spec in BUILTINS:
        return BUILTINS[spec].settings(seed)
    check_sampler(spec)
    user = parse_user_spec(spec)
    kwargs = dict(user.kwargs)
    if "seed" not in kwargs and _accepts_seed(user_class(user)):
        kwargs["seed"] = seed
    return {
        "name": user.cls,
        "spec": f"{user.module}:{user.cls}",
        "label": user.label,
        "kwargs": kwargs,
    }


def stored_seed(settings: dict[str, Any]) -> int | None:
    """The seed a settings record holds (a user sampler's in its keywords), if any."""
    return settings.get("kwargs", settings).get("seed")


def resume_seed(settings: dict[str, Any], existing_trials: int) -> int | None:
    """The seed a session of a study with these settings draws with; None: as stored. A
    resumed session mixes in how many trials exist, so that a seeded sampler does not replay
    the proposals it made before the interruption (not QMC, see ``BuiltinSampler``)."""
    import numpy as np

    builtin = BY_CLASS.get(settings.get("name", ""))
    seed = stored_seed(settings)
    if existing_trials == 0 or seed is None or (builtin and not builtin.reseed_on_resume):
        return None
    return int(np.random.SeedSequence([seed, existing_trials]).generate_state(1)[0])


def results_free_trials(settings: dict[str, Any]) -> float:
    """How many of a study's first trials (by number) its sampler proposes without looking at
    any result, so that they may be asked before the earlier ones finished and get the same
    parameters: every trial of a seeded random or QMC sampler (their draws follow the order of
    the asks; QMC's space comes from the first trial, finished or not), TPE's start-up trials
    (it samples at random while fewer than n_startup_trials are finished, and trial n has at
    most n finished before it), none of the others'."""
    name = None if "spec" in settings else settings.get("name")  # a user's: none
    if name in ("RandomSampler", "QMCSampler") and settings.get("seed") is not None:
        return float("inf")
    if name == "TPESampler" and settings.get("seed") is not None:
        return float(settings.get("n_startup_trials", TPE_STARTUP_TRIALS))
    return 0.0


def build_sampler(settings: dict[str, Any], seed: int | None = None) -> BaseSampler:
    """The sampler a settings record describes; ``seed``, when given, replaces its seed (a
    resumed session's seed, see ``resume_seed``)."""
    if "spec" in settings:  # a user's sampler
        kwargs = dict(settings["kwargs"])
        if seed is not None and "seed" in kwargs:
            kwargs["seed"] = seed
        module, cls = settings["spec"].split(":")
        return user_class(UserSpec(module, cls, kwargs))(**kwargs)
    builtin = BY_CLASS.get(settings.get("name", ""))
    if builtin is None:
        raise HarnessError(
            f"a stored sampler must be one of {list(SAMPLERS)} or a user "
            f"sampler, but the study records {settings!r}"
        )
    if seed is not None:
        settings = {**settings, "seed": seed}
        if "independent_sampler" in settings:
            settings["independent_sampler"] = _independent(seed)
    return builtin.factory(settings)


def make_sampler(spec: str, seed: int) -> tuple[BaseSampler, dict[str, Any]]:
    """A sampler with every setting explicit, and those settings as a record."""
    settings = sampler_settings(spec, seed)
    return build_sampler(settings), settings
