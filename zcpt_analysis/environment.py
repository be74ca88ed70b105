"""What a result was computed with: the package and library versions, the platform and the
device -- one record, written into every result record and shown in every report."""
from __future__ import annotations

import platform
from importlib import metadata
from typing import Any, Optional, Sequence

VERSION = "0.1.0"
"""This package's version (``zcpt_analysis.__version__``)."""

REPORT_LIBRARIES: tuple[str, ...] = ("torch", "numpy", "pandas", "scipy", "plotly", "papermill", "nbconvert",
                                     "ipywidgets")
"""The libraries a report names the versions of."""


def versions(libraries: Sequence[str] = REPORT_LIBRARIES) -> dict[str, str]:
    """Versions of this package, Python and ``libraries`` (``"-"`` where not installed)."""
    out = {"zcpt_analysis": VERSION, "python": platform.python_version()}
    for name in libraries:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "-"
    return out


def environment(device: Optional[Any] = None) -> dict[str, Any]:
    """The environment of a computation on ``device`` (a :class:`torch.device`, for the record):
    versions, platform, device, torch's intra-op threads and the allocator set-up
    (:func:`.allocator.describe`)."""
    import numpy as np
    import torch

    from .allocator import describe

    env: dict[str, Any] = {"zcpt_analysis": VERSION, "python": platform.python_version(), "torch": torch.__version__,
                           "numpy": np.__version__, "platform": platform.platform()}
    if device is not None:
        env["device"] = str(device)
    env["threads"] = torch.get_num_threads()
    env["allocator"] = describe()
    if device is not None and getattr(device, "type", None) == "cuda":
        env["device_name"] = torch.cuda.get_device_name(device)
    return env
