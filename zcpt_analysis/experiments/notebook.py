"""The preamble every notebook runs: the preset checked, torch's threads and pandas' display options
set (process-wide settings: notebooks only), the library versions, and a note on the images used."""
from __future__ import annotations

from typing import Any, Optional

from ..environment import versions
from .presets import check_preset


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
