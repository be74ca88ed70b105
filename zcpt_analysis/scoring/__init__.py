"""Section 3's operation scores: the seven scoring methods behind one interface
(:mod:`.methods`), the iterative setting of A.1.1 (:mod:`.iterative`) and the correlation analysis
of score tables -- Figure 2, Table 1, Figure A1 (:mod:`.analysis`)."""
from .methods import (METHOD_NAMES, METHODS, TABLE_COLUMNS, ScoringContext, ScoringSettings, as_state, finetune, g,
                      get_method, method_names, oracle_table, score_edge, score_operations)

__all__ = ["METHOD_NAMES", "METHODS", "TABLE_COLUMNS", "ScoringContext", "ScoringSettings", "as_state", "finetune", "g",
           "get_method", "method_names", "oracle_table", "score_edge", "score_operations"]
