"""The options that choose how faces are named: ``--fpir`` and ``--threshold``."""

from __future__ import annotations

import argparse

from facerec.open_set import DEFAULT_FPIR

DEFAULT_FPIR_HELP = f"{DEFAULT_FPIR:.0%}".replace("%", "%%")
"""The default share in a help text (argparse reads ``%`` in help as a format)."""


def share(text: str) -> float:
    """A share strictly between 0 and 1 (``0.01`` or ``1%``)."""
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 1 (or 0% and 100%)")
    return value


def add_decision_options(parser: argparse.ArgumentParser) -> None:
    """``--fpir`` (the open-set target) and ``--threshold`` (a fixed threshold)."""
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument("--fpir", type=share, default=None, metavar="RATE",
                        help="the share of strangers that may be given a name, e.g. 0.001 "
                             f"or 0.1%% (default: the database's, else {DEFAULT_FPIR_HELP}); "
                             "the threshold follows from it and from how many people "
                             "are enrolled")
    chosen.add_argument("--threshold", type=float, default=None,
                        help="a fixed similarity to reach instead (strangers are then named "
                             "more often the more people are enrolled)")
