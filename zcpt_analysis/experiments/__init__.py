"""What each notebook computes, by paper section. Concept modules:

* :mod:`.presets`: per preset (smoke, cpu, paper) a base run spec of each kind, its seeds and the
  grid of list-valued notebook parameters (:func:`preset`, :class:`SpecSeeds`);
* :mod:`.collect`: records read from a results store, computed, or pending with their commands;
* :mod:`.formatting`: measured-vs-paper cells, tables and bar-chart rows;
* :mod:`.notebook`: the notebook preamble (threads, pandas display options, versions, data note);
* :mod:`.display`: how notebooks show tables, settings, pending work and expected warnings;
* the tables: :mod:`.nb201_tables` (Tables 2-4, Figure 3), :mod:`.op_scores` (Figure 2, Tables 1
  and A2, Figure A1), :mod:`.darts_tables` (Tables 5, 6, A1), :mod:`.proxy_study` (the proxy study
  read back); :mod:`.targets` (what ``zcpt reproduce`` plans) and :mod:`.reproduce` (running it).

Notebooks call these and only display what they return. Measured numbers come from records in a
results store (``results_dir``), computed on the spot when the preset says so (smoke) and otherwise
reported as "not yet computed" with the exact command that computes them; paper numbers
(:mod:`zcpt_analysis.paper`) only ever appear in columns labelled "paper". This package exports
what the notebooks and the command line use; everything else is imported from its module.
"""
from .darts_tables import published_genotypes, table5, table6, table_a1
from .display import constant_scores, expected_warnings, settings_table, show_pending, table_view
from .formatting import comparison, zcpt_reference
from .nb201_tables import NEW_PROXIES, nv_ablation, table2, table3, table3_cpu, table3_cpu_settings, table4
from .notebook import data_note, setup, versions
from .op_scores import figure2, iterative_table, operation_scores, oracle_rows, table1_comparison, table_a2
from .presets import (PRESETS, Preset, SpecSeeds, check_preset, preset, preset_results_dir, search_settings)
from .proxy_study import proxy_study
from .targets import TARGETS, plan

__all__ = [
    # presets
    "PRESETS", "Preset", "SpecSeeds", "check_preset", "preset", "preset_results_dir", "search_settings",
    # notebook preamble and display
    "setup", "versions", "data_note", "table_view", "settings_table", "show_pending", "expected_warnings",
    "constant_scores",
    # measured vs paper
    "comparison", "zcpt_reference",
    # tables and figures
    "table2", "table3", "table3_cpu", "table3_cpu_settings", "NEW_PROXIES", "table4", "nv_ablation",
    "operation_scores", "table1_comparison", "table_a2", "oracle_rows", "figure2", "iterative_table",
    "table5", "table6", "table_a1", "published_genotypes", "proxy_study",
    # zcpt reproduce
    "TARGETS", "plan",
]
