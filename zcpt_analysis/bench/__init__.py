"""NAS-Bench-201 benchmark access: tidy tables, the official ``.pth``, NATS-Bench; conversion."""
from .benchmark import (Benchmark, BenchField, BenchResult, NB201Benchmark, default_bench_path, load_benchmark,
                        read_tables)
from .table import DATASETS, TidyTables, canonical_dataset

__all__ = ["Benchmark", "BenchField", "BenchResult", "NB201Benchmark", "default_bench_path", "load_benchmark",
           "read_tables", "DATASETS", "TidyTables", "canonical_dataset"]
