"""NAS-Bench-201 benchmark access: tidy tables, the official ``.pth``, NATS-Bench; conversion."""
from .benchmark import ArchResult, NB201Benchmark, default_bench_path, load_benchmark, read_tables
from .table import DATASETS, TidyTables, canonical_dataset

__all__ = ["ArchResult", "NB201Benchmark", "default_bench_path", "load_benchmark", "read_tables", "DATASETS",
           "TidyTables", "canonical_dataset"]
