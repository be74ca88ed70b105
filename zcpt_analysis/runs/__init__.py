"""The results layer: run specs (what to compute), typed records (what was computed) and one
result store (where records live). See :mod:`.specs`, :mod:`.records` and :mod:`.store`."""
from .records import (BenchResult, Candidate, DartsPTRecord, DartsRecord, Iteration, IterativeRecord, NaswotRecord,
                      RandomRecord, Record, ScoresRecord, SearchRecord, Selection, TrainRecord, error_statistics,
                      record_from_json)
from .specs import (DartsPTSpec, DartsSpec, IterativeSpec, NaswotSpec, RandomSpec, RunSpec, ScoresSpec, SearchSpec,
                    TrainSpec, spec_from_json)
from .store import ResultStore

__all__ = ["BenchResult", "Candidate", "DartsPTRecord", "DartsRecord", "Iteration", "IterativeRecord", "NaswotRecord",
           "RandomRecord", "Record", "ScoresRecord", "SearchRecord", "Selection", "TrainRecord", "error_statistics",
           "record_from_json", "DartsPTSpec", "DartsSpec", "IterativeSpec", "NaswotSpec", "RandomSpec", "RunSpec",
           "ScoresSpec", "SearchSpec", "TrainSpec", "spec_from_json", "ResultStore"]
