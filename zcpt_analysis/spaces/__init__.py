"""Search spaces. ``nb201`` is NAS-Bench-201; see :mod:`.nb201`."""
from .nb201 import EDGES as NB201_EDGES
from .nb201 import OPS as NB201_OPS
from .nb201 import Arch, NB201Network, NB201Supernet, parse_arch

__all__ = ["Arch", "NB201Network", "NB201Supernet", "parse_arch", "NB201_EDGES", "NB201_OPS"]
