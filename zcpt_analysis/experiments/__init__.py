"""What each notebook computes, by paper section: presets (:mod:`.presets`), NAS-Bench-201 search
tables (:mod:`.nb201_tables`: Tables 2-4, Figure 3), operation scores (:mod:`.op_scores`: Figure 2,
Tables 1 and A2, Figure A1), DARTS-space tables (:mod:`.darts_tables`: Tables 5, 6, A1), the proxy
study read back (:mod:`.proxy_study`), the shared store / pending / measured-vs-paper helpers
(:mod:`.common`), how notebooks show tables and expected warnings (:mod:`.display`) and the
targets ``zcpt reproduce`` plans (:mod:`.targets`).

Notebooks call these and only display what they return. Measured numbers come from records in a
results store (``results_dir``), computed on the spot when the preset says so (smoke) and otherwise
reported as "not yet computed" with the exact command that computes them; paper numbers
(:mod:`zcpt_analysis.paper`) only ever appear in columns labelled "paper".
"""
from .common import (DATASET_LABELS, NEEDS_GPU, NOT_COMPUTED, NOT_IN_PAPER, NOT_TRAINED, PAPER_RESULTS_DIR,
                     PRESET_RESULTS_DIRS, PRESETS, Pending, Row, Runs, TableResult, check_preset, collect, commands,
                     comparison, data_note, default_results_dir, error_bars, error_table, fmt, pending_markdown,
                     settings_table, setup, show_pending, versions, zcpt_reference)
from .display import MISSING, TableView, constant_scores, expected_warnings, table_view
from .darts_tables import (GenotypeRow, darts_search, genotype_param_count, genotype_table, pooled_errors,
                           published_genotypes, table5, table6, table_a1, trained_errors, training_results)
from .nb201_tables import (DARTS_VARIANTS, NEW_PROXIES, NVResult, nv_ablation, select_subset, table2, table3,
                           table3_cpu, table3_cpu_settings, table3_proxies, table4, zcpt_runs)
from .op_scores import figure2, iterative_table, operation_scores, oracle_rows, table1_comparison, table_a2
from .proxy_study import StudyResult, proxy_study
from .presets import (CPU_BUDGET, CPU_ITERATIVE_METHODS, ITERATIVE_SMOKE_METHODS, PRESET_DEFAULTS, TINY_DARTS,
                      TINY_NB201, BaselineSettings, ScoreSettings, SearchSettings, baseline_settings, iterative_settings,
                      preset_default, score_settings, search_settings)
from .targets import TARGETS, Target, plan

__all__ = [name for name in dir() if not name.startswith("_")]
