"""Checks of settings against what is registered: space and proxy names (normalised to their
registered spelling), the datasets a space is built for, and the pass-through options of a
proxy, a supernet or a standalone network (names, types, ranges) -- all before any work starts."""
from __future__ import annotations

from typing import Annotated, Any, Optional

from pydantic import AfterValidator, ValidationInfo

from .checks import check_arguments
from .errors import ZcptError
from .proxies import get_proxy
from .proxies.registry import check_batch_size, check_options
from .spaces import get_space, space_names


def space_name(space: str) -> str:
    """The registered name of ``space`` (clear error for an unknown one)."""
    return get_space(space).name


def proxy_name(proxy: str) -> str:
    """The registered name of ``proxy`` (clear error for an unknown one)."""
    return get_proxy(proxy).name


def space_batch_size(batch_size: Optional[int], info: ValidationInfo) -> Optional[int]:
    """``batch_size``, or the default minibatch of the settings' space when it is None."""
    if batch_size is None and "space" in info.data:
        return get_space(info.data["space"]).default_batch_size
    return batch_size


SpaceName = Annotated[str, AfterValidator(space_name)]
"""A search space's name, normalised to its registered spelling."""
ProxyName = Annotated[str, AfterValidator(proxy_name)]
"""A proxy's name, normalised to its registered spelling."""
SpaceBatchSize = Annotated[Optional[int], AfterValidator(space_batch_size)]
"""A minibatch size whose None means the space's default (declare the field after ``space``, with
``validate_default=True``)."""


def check_dataset(space: str, dataset: str) -> None:
    """``dataset`` is one the space's networks are built for (``SearchSpace.datasets``)."""
    sp = get_space(space)
    if dataset not in sp.datasets:
        raise ZcptError(f"the {sp.name} space has no networks for dataset {dataset!r}; valid datasets for {sp.name}: "
                        f"{', '.join(sp.datasets)}")


def check_benchmark_space(space: str, what: str) -> str:
    """The registered name of ``space``, which must have benchmark results (``what`` -- a baseline --
    looks its architectures up there)."""
    sp = get_space(space)
    if not sp.has_benchmark:
        with_bench = [n for n in space_names() if get_space(n).has_benchmark]
        raise ZcptError(f"{what} needs benchmark results and space {space!r} has none; valid spaces: "
                        f"{', '.join(with_bench)}")
    return sp.name


def check_run_options(space: str, proxy: Optional[str] = None, proxy_options: Optional[dict[str, Any]] = None,
                      batch_size: Optional[int] = None, batch_flag: str = "batch_size",
                      supernet_options: Optional[dict[str, Any]] = None,
                      network_options: Optional[dict[str, Any]] = None) -> None:
    """The pass-through options of a run: ``proxy_options`` against the proxy's parameters, the
    minibatch size against what the proxy needs, ``supernet_options`` / ``network_options``
    against the space's builders."""
    if proxy is not None:
        check_options(proxy, dict(proxy_options or {}))
        if batch_size is not None:
            check_batch_size(proxy, batch_size, batch_flag)
    sp = get_space(space)
    if supernet_options is not None:
        check_arguments(f"{sp.name} supernet option", sp.supernet, supernet_options, fixed=("num_classes", "seed"))
    if network_options is not None:
        check_arguments(f"{sp.name} network option", sp.network, network_options,
                        fixed=("arch", "num_classes", "seed"))
