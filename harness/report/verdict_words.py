"""The verdict's first sentence, from the last recorded look. Wording rules, tested: no
direction word ("better", "worse") unless the interval the decision uses excludes 0; no
effect-size adjective below ``ADJECTIVE_PAIRS`` pairs; every interval named with its level
and what it is for (the direction test's, or the TOST-consistent 1 - 2 x level one), so the
headline and the looks table give the same interval for the same look."""

from __future__ import annotations

from harness.experiment.simulation import MORE_PAIRS_CAP, POWER, Outlook
from harness.experiment.verdict import ALPHA, Interval, Look
from harness.report.markdown import ci_text, signed_difference

ADJECTIVE_PAIRS = 10  # below this many pairs an effect size is too rough to name


def interval_label(look: Look, equivalence: bool) -> str:
    """What an interval of a look is: its confidence, its level, what it is for."""
    if equivalence:
        return (
            f"{100 * look.equivalence.level:.1f}% CI, the TOST-consistent 1 - 2 x level "
            f"interval at this look's level {look.level:.4f}"
        )
    return (
        f"{100 * look.mean.level:.1f}% CI, the direction test's 1 - level interval at this "
        f"look's level {look.level:.4f}"
    )


def effect_adjective(dz: float) -> str:
    """Cohen's words for a standardised paired effect |d_z|."""
    size = abs(dz)
    return (
        "negligible"
        if size < 0.2
        else "small"
        if size < 0.5
        else "medium"
        if size < 0.8
        else "large"
    )


def _range(low: float, high: float) -> str:
    return f"{low:.2f}-{high:.2f}" if f"{low:.2f}" != f"{high:.2f}" else f"{low:.2f}"


def _what_decides(outlook_: Outlook | None, new_run: tuple | None, alpha: float) -> str:
    """The undecided verdict's tail: the chance the design's next looks decide, or a new
    run's size once this run's error rate is spent."""
    if new_run is not None:
        low, middle, high = (
            f"more than {MORE_PAIRS_CAP}" if n is None else str(n) for n in new_run
        )
        return (
            f"this run's {alpha} error rate is spent, so deciding it needs a new run: judged "
            f"once at {alpha}, it would need about {middle} pairs ({low} to {high} across the "
            f"95% interval of the pairs' sd) to decide with {100 * POWER:.0f}% probability "
            "if the observed mean were the truth"
        )
    if outlook_ is None:
        return "no look of the design is left"
    text = (
        f"the next look, at {outlook_.next_pairs} pairs, decides with probability "
        f"{outlook_.next_p:.2f} at the observed mean and spread "
        f"({_range(*outlook_.next_range)} across the 95% interval of the pairs' sd), "
        "continuing from the pairs the looks judged"
    )
    if outlook_.last_pairs != outlook_.next_pairs:
        text += (
            f"; by the design's last look ({outlook_.last_pairs} pairs) with probability "
            f"{outlook_.last_p:.2f} ({_range(*outlook_.last_range)})"
        )
    return text


def verdict_sentence(
    look: Look | None,
    names: tuple[str, str],
    *,
    outlook_: Outlook | None = None,
    new_run: tuple | None = None,
    sd: float | None = None,
    alpha: float = ALPHA,
    outcome: str = "test AUROC",
) -> str:
    """The verdict's first sentence, from the last recorded look: decided better, equivalent,
    or not yet decided (with what would decide it). ``outcome``: the primary outcome in words
    (``RunData.primary_title``)."""
    a, b = names
    if look is None:
        return f"Not yet judged: no look of the design has judged {a} - {b} yet."
    n, m = look.pairs, look.margin
    if look.outcome in ("a_better", "b_better"):
        winner, loser, sign = (a, b, 1.0) if look.outcome == "a_better" else (b, a, -1.0)
        ends = sorted((sign * look.mean.low, sign * look.mean.high))
        flipped = Interval(sign * look.mean.estimate, ends[0], ends[1], look.mean.level)
        text = (
            f"{winner} is better than {loser} by {ci_text(flipped)} {outcome} "
            f"({interval_label(look, False)}; {n} pairs)."
        )
        if look.mean.low > -m and look.mean.high < m:
            text += (
                f" The whole interval lies inside the ±{m:g} margin declared as no "
                "practical difference."
            )
    elif look.outcome == "equivalent":
        text = (
            f"{a} and {b} are equivalent within ±{m:g} {outcome}: {a} - {b} = "
            f"{ci_text(look.equivalence)} ({interval_label(look, True)}, TOST "
            f"p = {look.tost_p:.2g}; {n} pairs)."
        )
    elif look.mean.low == look.mean.high:
        text = (
            f"Not yet decided: all {n} pairs have the same difference {a} - {b} = "
            f"{signed_difference(look.mean.estimate)} {outcome}, so there is no spread "
            "to judge by (identical configurations in every pair, most likely)."
        )
    else:
        text = (
            f"Not yet decided: {a} - {b} = {ci_text(look.mean)} {outcome} "
            f"({interval_label(look, False)}; {n} pairs); "
            f"{_what_decides(outlook_, new_run, alpha)}."
        )
    if n >= ADJECTIVE_PAIRS and sd is not None and sd > 0:
        dz = look.mean.estimate / sd
        text += f" Standardised paired effect d_z = {dz:+.2f} ({effect_adjective(dz)})."
    return text
