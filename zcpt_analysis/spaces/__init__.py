"""Search spaces, looked up by name with :func:`get_space` (``nb201``; the DARTS spaces register too)."""
from . import nb201
from .base import SearchSpace, get_space, register_space, space_names
from .nb201 import Arch, NB201Network, NB201Supernet, parse_arch

register_space(SearchSpace(
    name="nb201",
    description="NAS-Bench-201: 6 edges x 5 ops, 15,625 architectures with benchmark results",
    supernet=nb201._seeded_supernet,
    network=nb201._seeded_network,
    parse=parse_arch,
    to_json=lambda arch: parse_arch(arch).to_string(),
    random_arch=nb201.random_arch,
    has_benchmark=True,
    default_batch_size=256,
    datasets=("cifar10", "cifar100", "imagenet16-120", "synthetic"),
))

from . import darts  # noqa: E402  (DARTS CNN space and RobustDARTS S1-S4)

darts.register_spaces()

__all__ = ["Arch", "NB201Network", "NB201Supernet", "parse_arch", "SearchSpace", "get_space", "register_space",
           "space_names"]
