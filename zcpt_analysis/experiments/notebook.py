"""The preamble every notebook runs: the preset checked, torch's threads and pandas' display options
set (process-wide settings: notebooks only), the library versions, and a note on the images used;
and the types of the notebooks' parameters (:data:`PARAMETER_TYPES`), checked by ``zcpt report``
before any notebook runs (:func:`check_parameter`)."""
from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

from pydantic import Field, TypeAdapter, ValidationError

from ..environment import versions
from ..errors import ZcptError, short_repr
from ..options import Seed
from .presets import check_preset

_Count = Annotated[int, Field(ge=1)]
_Names = Optional[list[str]]
PARAMETER_TYPES: dict[str, tuple[Any, str]] = {
    "preset": (Literal["smoke", "cpu", "paper"], "one of smoke, cpu, paper"),
    "results_dir": (Optional[str], "a folder path or None"),
    "data_root": (Optional[str], "a folder path or None"),
    "device": (Optional[str], "cpu, cuda, auto or None"),
    "compute_missing": (Optional[bool], "true, false or None"),
    "batch_size": (Optional[_Count], "a positive integer or None"),
    "N": (Optional[_Count], "a positive integer or None"),
    "V": (Optional[_Count], "a positive integer or None"),
    "random_runs": (Optional[_Count], "a positive integer or None"),
    "naswot_samples": (Optional[_Count], "a positive integer or None"),
    "N_values": (Optional[list[_Count]], "a list of positive integers, e.g. [1, 2], or None"),
    "V_values": (Optional[list[_Count]], "a list of positive integers, e.g. [1, 2], or None"),
    "seeds": (Optional[list[Seed]], "a list of seeds in 0..4294967295, e.g. [0, 1], or None"),
    "naswot_seeds": (Optional[list[Seed]], "a list of seeds in 0..4294967295, e.g. [0, 1], or None"),
    "darts_seeds": (Optional[list[Seed]], "a list of seeds in 0..4294967295, e.g. [0, 1], or None"),
    "seed": (Seed, "a seed in 0..4294967295"),
    "steps_to_show": (Annotated[int, Field(ge=0)], "an integer at least 0"),
    "orders": (_Names, 'a list of names, e.g. ["random", "fixed"], or None'),
    "methods": (_Names, 'a list of names, e.g. ["best-acc", "zc-pt"], or None'),
    "proxies": (_Names, 'a list of names, e.g. ["nwot", "synflow"], or None'),
    "datasets": (_Names, 'a list of names, e.g. ["cifar10"], or None'),
    "spaces": (_Names, 'a list of names, e.g. ["darts-s1"], or None'),
    "space": (str, "a space name, e.g. nb201"),
    "proxy": (str, "a proxy name, e.g. nwot"),
    "order": (str, "an ordering name, e.g. random"),
}
"""The notebooks' parameters: name -> (type, what is valid in words). A notebook's parameters cell
declares the names and defaults; their types are declared here once, for all notebooks."""


def check_parameter(name: str, value: Any, notebooks: str = "") -> None:
    """``value`` fits the declared type of parameter ``name`` (a parameter without a declared type
    passes); else a :class:`ZcptError` naming it, the value and what is valid (``notebooks``: who
    declares it, for the message)."""
    if name not in PARAMETER_TYPES:
        return
    kind, valid = PARAMETER_TYPES[name]
    try:
        TypeAdapter(kind).validate_python(value, strict=True)
    except ValidationError:
        where = f" (a parameter of {notebooks})" if notebooks else ""
        raise ZcptError(f"notebook parameter {name}{where} must be {valid}, got {short_repr(value)}") from None


def setup(preset: str, threads: Optional[int] = None) -> dict[str, Any]:
    """Notebook preamble: check ``preset``, limit torch to ``threads`` intra-op threads (smoke
    default: 1, since two threads thrash on a shared 2-core machine), widen pandas output. Figures
    are shown with :func:`zcpt_analysis.viz.show` (JupyterLab and the offline HTML reports). Returns
    the preset, threads and versions."""
    import pandas as pd
    import torch

    check_preset(preset)
    if threads is None and preset == "smoke":
        threads = 1
    if threads:
        torch.set_num_threads(int(threads))
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 40)
    pd.set_option("display.max_colwidth", None)
    return {"preset": preset, "torch_threads": torch.get_num_threads(), **versions()}


def data_note(preset: str, data_root: Optional[str]) -> str:
    """A Markdown note on the images a notebook uses (the paper preset without ``data_root`` falls
    back on the shared 400-image CIFAR-10 sample, which the paper did not use)."""
    check_preset(preset)
    if data_root:
        return f"Images: the full dataset under `{data_root}`."
    if preset == "paper":
        return ("**Images: no `data_root` given, so the shared 400-image CIFAR-10 sample is used** (the printed "
                "commands too); pass `-p data_root=/path/to/cifar10` for the full dataset the paper used.")
    if preset == "cpu":
        return ("Images: the shared real CIFAR-10 sample (400 training images; the paper drew its minibatches from "
                "the full CIFAR-10: pass `-p data_root=/path/to/cifar10` for that).")
    return "Images: the shared real CIFAR-10 sample (400 training images)."
