"""The results layer: run specs (what to compute), typed records (what was computed), one result
store (where records live) and the runners (the only link to the algorithms). See :mod:`.specs`,
:mod:`.records`, :mod:`.store` and :mod:`.runners`."""
from . import runners  # noqa: F401  (registers the runner of every spec kind)
from .records import (BenchResult, Candidate, DartsPTRecord, DartsRecord, Iteration, IterativeRecord, NaswotRecord,
                      ProxyStudyRecord, RandomRecord, Record, ScoresRecord, SearchRecord, Selection, TrainRecord,
                      error_statistics, record_from_json)
from .spec import execute
from .specs import (DartsPTSpec, DartsSpec, IterativeSpec, NaswotSpec, ProxyStudySpec, RandomSpec, RunSpec, ScoresSpec,
                    SearchSpec, TrainSpec, spec_from_json)
from .store import ResultStore

__all__ = ["BenchResult", "Candidate", "DartsPTRecord", "DartsRecord", "Iteration", "IterativeRecord", "NaswotRecord",
           "ProxyStudyRecord", "RandomRecord", "Record", "ScoresRecord", "SearchRecord", "Selection", "TrainRecord", "error_statistics",
           "record_from_json", "DartsPTSpec", "DartsSpec", "IterativeSpec", "NaswotSpec", "ProxyStudySpec", "RandomSpec",
           "RunSpec",
           "ScoresSpec", "SearchSpec", "TrainSpec", "spec_from_json", "ResultStore", "execute"]
