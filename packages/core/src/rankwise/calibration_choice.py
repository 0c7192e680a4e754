"""Which calibration a `Reranker` uses: the caller's file or object, else the one its alias ships.

>>> from rankwise.spec import parse_spec
>>> choose_calibration(None, parse_spec("lexical"), None) is None
True
"""

from __future__ import annotations

from pathlib import Path

from rankwise.aliases import alias_calibration
from rankwise.fusion import Calibrator
from rankwise.spec import ModelSpec


def choose_calibration(
    given: str | Path | Calibrator | None, spec: ModelSpec, normalize: str | None
) -> Calibrator | None:
    """The calibration to use, checked against ``spec``; the alias's shipped one unless another normalisation
    is asked for; an error for ``normalize="calibrated"`` without any, and for a calibration given with
    another normalisation (which would silently win over it)."""
    if given is not None and normalize not in (None, "calibrated"):
        raise ValueError(
            f"calibration= maps scores to probabilities, which normalize={normalize!r} asks not to do: "
            "pass one of them (or normalize='calibrated' with the calibration)"
        )
    if given is None and normalize in (None, "calibrated"):
        given = alias_calibration(spec.alias)
    if given is None:
        if normalize == "calibrated":
            raise ValueError("normalize='calibrated' needs calibration=FILE (fit one with `rankwise calibrate`)")
        return None
    calibration: Calibrator
    if isinstance(given, (str, Path)):
        from rankwise.calibration import Calibration

        calibration = Calibration.load(given)
    else:
        calibration = given
    calibration.check_model(spec.expanded() if spec.terms else "", shown=spec.alias)
    return calibration
