"""Numbers published in the paper, for side-by-side "paper" columns. Never present them as measured.

Everything here is copied from *Zero-Cost Proxies Meet Differentiable Architecture Search*
(Xiang et al.) as printed; each constant names its table or section. Test errors are in %
(mean ± std over search seeds x training trials, as A.5 describes) unless a docstring says
otherwise. :func:`zcpt_analysis.experiments.comparison` builds the measured / paper / difference tables.

This module holds published constants only and imports nothing of the toolkit; what is computed
from them lives elsewhere (:func:`zcpt_analysis.scoring.analysis.figure2_from_table_a2`, the
measured-vs-paper tables of :mod:`zcpt_analysis.experiments`).

What the paper does **not** give (so nothing here pretends to): the values behind Figure 2
(a Spearman matrix; :func:`zcpt_analysis.scoring.analysis.figure2_from_table_a2` recomputes it from Table
A2, which is what the figure was computed from, minus the ``avg_pool_3x3`` column our copy of the
paper lost), Figure A1 (only qualitative statements, :data:`FIGURE_A1_FINDINGS`) and Figure 3 (two
numbers quoted in the text, :data:`FIGURE3_FACTS`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional


@dataclass(frozen=True)
class Published:
    """A published mean ± std (``std`` may be None where the paper gives none)."""

    mean: float
    std: float | None = None

    def __str__(self) -> str:
        return f"{self.mean:.2f}" if self.std is None else f"{self.mean:.2f} ± {self.std:.2f}"


NB201_DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
NB201_DATASET_LABELS = {"cifar10": "C10", "cifar100": "C100", "ImageNet16-120": "ImageNet-16"}
"""The paper's column names for the NAS-Bench-201 datasets."""

# --------------------------------------------------------------------------------- Table 1
@dataclass(frozen=True)
class Table1Row:
    """Table 1: mean CIFAR-10 test error (%) and NAS-Bench-201 rank of the architecture a scoring
    method selects from its iteration-0 scores (best op per edge, independently)."""

    error: float
    rank: int


TABLE1: dict[str, Table1Row] = {
    "best-acc": Table1Row(5.63, 1), "avg-acc": Table1Row(6.24, 166), "disc-acc": Table1Row(13.55, 12_744),
    "darts-pt": Table1Row(19.43, 13_770), "zc-pt": Table1Row(5.81, 14), "disc-zc": Table1Row(22.96, 14_274),
    "darts": Table1Row(45.7, 15_231),
}
"""Paper, Table 1 (footnote: error = average over all available seeds of the selected model in
NAS-Bench-201 CIFAR-10)."""

# --------------------------------------------------------------------------------- Table A2
TABLE_A2_EDGES: tuple[str, ...] = ("1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2")
"""Rows 0..5 of Table A2 are the NAS-Bench-201 edges in canonical order."""
TABLE_A2_OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3")
"""Columns of Table A2 present in our copy of the paper: the ``avg_pool_3x3`` column was lost in
its conversion to text, so only these four ops have published values."""
TABLE_A2_MISSING_OPS: tuple[str, ...] = ("avg_pool_3x3",)

TABLE_A2: dict[str, tuple[tuple[float, ...], ...]] = {
    "best-acc": ((94.15, 94.18, 94.44, 94.68), (94.24, 94.16, 94.49, 94.68), (94.25, 94.43, 94.49, 94.68),
                 (94.16, 94.68, 94.03, 94.04), (94.29, 94.18, 94.56, 94.68), (94.05, 94.16, 94.68, 94.56)),
    "avg-acc": ((77.36, 81.02, 83.81, 86.38), (80.03, 83.11, 85.23, 85.99), (82.9, 82.44, 84.05, 84.49),
                (74.02, 85.17, 87.3, 88.28), (80.14, 83.05, 85.09, 85.7), (77.61, 83.43, 86.18, 86.95)),
    "disc-acc": ((83.27, 82.24, 65.0, 71.76), (84.94, 83.23, 73.23, 76.77), (83.87, 83.73, 77.33, 76.83),
                 (65.77, 84.44, 75.82, 78.68), (83.57, 82.03, 75.02, 76.09), (83.95, 82.45, 66.69, 71.36)),
    "darts-pt": ((-85.43, -17.02, -78.13, -59.09), (-85.52, -36.1, -84.39, -80.95), (-85.51, -80.29, -81.86, -77.68),
                 (-85.49, -9.86, -81.79, -59.18), (-85.45, -51.15, -78.84, -64.64), (-85.54, -32.43, -81.04, -72.75)),
    "disc-zc": ((3331.01, 3445.49, 3366.88, 3437.55), (3429.07, 3435.75, 3407.87, 3434.58),
                (3428.8, 3423.36, 3440.93, 3437.29), (3408.99, 3464.05, 3359.89, 3382.18),
                (3433.99, 3435.57, 3424.47, 3431.81), (3434.42, 3437.66, 3418.57, 3397.52)),
    "zc-pt": ((-3455.23, -3449.9, -3449.54, -3441.82), (-3452.15, -3448.7, -3441.81, -3440.65),
              (-3446.52, -3447.61, -3435.46, -3436.4), (-3453.81, -3435.99, -3444.04, -3445.6),
              (-3451.06, -3449.8, -3442.63, -3441.13), (-3450.97, -3448.21, -3440.8, -3443.24)),
    "darts": ((0.14, 0.48, 0.13, 0.18), (0.12, 0.55, 0.11, 0.12), (0.24, 0.33, 0.15, 0.17),
              (0.06, 0.65, 0.08, 0.13), (0.12, 0.48, 0.13, 0.17), (0.16, 0.49, 0.12, 0.14)),
}
"""Paper, Table A2 (raw iteration-0 operation scores), **as printed**: the perturbation scores
darts-pt and zc-pt are already multiplied by -1 there (footnote: "lower is better so we add a
negative sign"), so larger printed value = stronger op for all seven methods. Rows: edges
:data:`TABLE_A2_EDGES`; columns: :data:`TABLE_A2_OPS`.

Reproduction from ``cifar10_test_trials.csv``: every best-acc value matches to 2 decimals. No
avg-acc value does: the printed ones are 3.2-6.2 points lower than the mean of the architectures'
seed-means (and than the pooled trial mean, and than the seed-mean table). They are 0.959-0.965
times the *pooled-trial* mean on edges 2<-0 .. 3<-2 (0.929-0.964 on 1<-0), as if ~4 % of the
averaged entries had counted as 0 -- another accuracy table or averaging than the published
per-trial table. The op order within every edge is the same as ours, so per-edge Spearman
correlations (Figure 2) and the avg-acc architecture of Table 1 are unaffected."""

TABLE_A2_PRINTED_NEGATED: frozenset[str] = frozenset({"darts-pt", "zc-pt"})
"""Methods whose Table A2 values are printed multiplied by -1 (lower-is-better scores)."""

ITERATION0_LOG_OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
ITERATION0_LOG: dict[int, tuple[tuple[float, ...], ...]] = {
    0: ((3454.2227, 3448.5942, 3439.917, 3443.5508, 3459.2842), (3454.2227, 3451.5684, 3442.229, 3443.3025, 3456.3674),
        (3454.2227, 3453.9937, 3443.8208, 3443.2834, 3455.4973), (3454.2227, 3437.5054, 3446.7268, 3446.9026, 3448.9456),
        (3454.2227, 3450.4873, 3444.7363, 3444.004, 3453.9998), (3454.2227, 3450.7974, 3445.511, 3442.5146, 3455.8496)),
    1: ((3455.2336, 3449.8987, 3449.5383, 3441.8157, 3461.1794), (3455.2336, 3452.0488, 3444.8074, 3443.643, 3457.1467),
        (3455.2336, 3456.1172, 3444.3286, 3445.1277, 3457.6875), (3455.2336, 3437.8433, 3445.892, 3446.7576, 3448.9878),
        (3455.2336, 3453.3945, 3446.955, 3445.5383, 3456.8743), (3455.2336, 3452.2458, 3445.8218, 3447.6575, 3457.1719)),
    2: ((3459.1682, 3454.2397, 3449.2122, 3449.0579, 3465.5217), (3459.1682, 3456.3445, 3446.3127, 3447.499, 3461.774),
        (3459.1682, 3459.4285, 3449.3945, 3447.647, 3461.099), (3459.1682, 3446.3042, 3451.9297, 3449.8296, 3458.2988),
        (3459.1682, 3456.9915, 3447.8384, 3449.793, 3460.7205), (3459.1682, 3455.902, 3451.3115, 3446.9766, 3461.12)),
    3: ((3413.4504, 3413.149, 3404.6685, 3407.8464, 3425.5908), (3413.4504, 3410.3176, 3406.0159, 3405.6038, 3416.2107),
        (3413.4504, 3414.7605, 3402.0935, 3403.1653, 3416.6396), (3413.4504, 3395.1143, 3413.446, 3395.74, 3408.8445),
        (3413.4504, 3413.7048, 3406.3977, 3403.493, 3417.9602), (3413.4504, 3412.2334, 3401.6907, 3408.7856, 3418.1448)),
}
"""The authors' own iteration-0 zc-pt scores ``S(A_0 - (e, o))`` (nwot, batch 256, CIFAR-10), as
their code logged them: ``experiments/corr_time/zc-{seed}.txt`` of the published repository
(visionbasicagent/zerocost_operation_score; ``networks_proposal.py --edge_decision order
--pool_size 1 --batch_size 256``), the first ``epoch 0`` block, which scores all six edges of A_0 on
one minibatch. Rows: edges in canonical order; columns: :data:`ITERATION0_LOG_OPS`. Seed 1 is the
run behind the paper: its edge-1<-0 row is Table A2's first row, and its choice per edge
(3x3, 3x3, 1x1, skip, 3x3, 1x1) is Table 1's zc-pt architecture (5.81 %, rank 14). The other seeds
choose differently between 1x1 and 3x3 (seed 0: 1x1, 1x1, 3x3, skip, 3x3, 3x3), but every seed
keeps skip_connect on 3<-0 and never none or avg_pool_3x3."""


FIGURE2_FINDINGS: tuple[str, ...] = (
    "disc-acc is inversely correlated to best-acc",
    "darts-pt does not track disc-acc (it is inversely correlated to it)",
    "darts-pt is weakly correlated to best-acc and avg-acc",
    "zc-pt is strongly correlated with both best-acc and avg-acc",
    "disc-zc, like disc-acc, is inversely correlated with the oracle scores",
    "the darts alpha score is weakly and inversely correlated with the oracle scores",
)
"""Section 3.2's reading of Figure 2 (qualitative; the figure's numbers are not in the text)."""

FIGURE_A1_FINDINGS: tuple[str, ...] = (
    "zc-pt continues to be the best operation scoring function in the iterative setting",
    "darts-pt is the second best",
    "disc-acc stays unrepresentative of operation strength, with a large variance in the last iteration",
)
"""A.1.1's reading of Figure A1 (qualitative; averaged over four seeds; darts-pt and disc-acc
retrained 5 epochs after each discretization)."""

# --------------------------------------------------------------------------------- Table 2
TABLE2: dict[str, dict[str, dict[str, Published]]] = {"nwot": {
    "fixed": {"cifar10": Published(5.98, 0.50), "cifar100": Published(27.60, 1.63), "ImageNet16-120": Published(54.23, 0.93)},
    "global-op-iter": {"cifar10": Published(5.69, 0.19), "cifar100": Published(26.80, 0.51), "ImageNet16-120": Published(53.64, 0.40)},
    "global-op-once": {"cifar10": Published(6.30, 0.57), "cifar100": Published(28.96, 1.66), "ImageNet16-120": Published(55.04, 1.47)},
    "global-edge-iter": {"cifar10": Published(6.23, 0.45), "cifar100": Published(28.42, 0.59), "ImageNet16-120": Published(54.39, 0.47)},
    "global-edge-once": {"cifar10": Published(6.30, 0.57), "cifar100": Published(28.96, 1.66), "ImageNet16-120": Published(55.04, 1.47)},
    "random": {"cifar10": Published(5.97, 0.17), "cifar100": Published(27.47, 0.28), "ImageNet16-120": Published(53.82, 0.77)},
}}
"""Paper, Table 2: Zero-Cost-PT (N=10, V=100) on NAS-Bench-201 by proxy and edge ordering: the paper
ran it with nwot only (``TABLE2["nwot"][order]``)."""
TABLE2_EVALUATIONS = {"fixed": 30, "global-op-iter": 105, "global-op-once": 55, "global-edge-iter": 105,
                      "global-edge-once": 55, "random": 30}
"""Table 2's "# of perturbations" per search iteration, evaluated for NB201 (|O|=5, |E|=6)."""
TABLE2_PERTURBATION_FORMULAS = {"fixed": "|O||E|", "global-op-iter": "½|O||E|(|E|+1)", "global-op-once": "2|O||E|-|O|",
                                "global-edge-iter": "½|O||E|(|E|+1)", "global-edge-once": "2|O||E|-|O|",
                                "random": "|O||E|"}
"""Table 2's "# of perturbations" column as printed."""

# --------------------------------------------------------------------------------- Figure 3
FIGURE3_FACTS: dict[str, Any] = {
    "distinct_archs_N100": 27.8,
    "distinct_archs_N1000_vs_N100": "roughly doubles",
    "orders": ("random", "global-edge-iter"),
    "N_values": (10, 100, 1000),
}
"""Section 4.2 on Figure 3 (the figure's points are not in the text): with N=100 search iterations
Zero-Cost-PT finds 27.8 distinct architectures on average; with N=1000 the number "only roughly
doubles"; with N=10 both random and global-edge-iter already find top models; larger V reduces the
variance of the selected architecture's accuracy, especially for small N."""

# --------------------------------------------------------------------------------- Table 3
TABLE3: dict[str, dict[str, Published]] = {
    "fisher": {"cifar10": Published(10.64, 1.27), "cifar100": Published(38.48, 1.96), "ImageNet16-120": Published(82.85, 12.63)},
    "grad_norm": {"cifar10": Published(10.55, 1.11), "cifar100": Published(38.43, 2.10), "ImageNet16-120": Published(80.71, 12.10)},
    "grasp": {"cifar10": Published(9.81, 3.42), "cifar100": Published(36.52, 6.33), "ImageNet16-120": Published(64.27, 8.82)},
    "snip": {"cifar10": Published(8.32, 2.02), "cifar100": Published(34.00, 4.03), "ImageNet16-120": Published(65.35, 11.04)},
    "synflow": {"cifar10": Published(6.24, 0.00), "cifar100": Published(28.89, 0.00), "ImageNet16-120": Published(58.56, 0.00)},
    "nwot": {"cifar10": Published(5.97, 0.17), "cifar100": Published(27.47, 0.28), "ImageNet16-120": Published(53.82, 0.77)},
}
"""Paper, Table 3: Zero-Cost-PT (random order, N=10, V=100) on NAS-Bench-201 by proxy
(footnote: synflow selected the same model for all 4 seeds)."""

# --------------------------------------------------------------------------------- Table 4
TABLE4_METHODS: dict[str, dict[str, Published]] = {
    "Random": {"cifar10": Published(13.39, 13.28), "cifar100": Published(39.17, 12.58), "ImageNet16-120": Published(66.87, 9.66)},
    "DARTS": {"cifar10": Published(45.70, 0.00), "cifar100": Published(84.39, 0.00), "ImageNet16-120": Published(83.68, 0.00)},
    "DARTS-PT": {"cifar10": Published(11.89, 0.00), "cifar100": Published(45.72, 6.26), "ImageNet16-120": Published(69.60, 4.40)},
    "DARTS-PT (fix alpha)": {"cifar10": Published(6.20, 0.00), "cifar100": Published(34.03, 2.24), "ImageNet16-120": Published(61.36, 1.91)},
    "NASWOT(synflow)": {"cifar10": Published(6.54, 0.62), "cifar100": Published(29.53, 2.13), "ImageNet16-120": Published(58.22, 4.18)},
    "NASWOT(nwot)": {"cifar10": Published(7.04, 0.80), "cifar100": Published(29.97, 1.16), "ImageNet16-120": Published(55.57, 2.07)},
    "Zero-Cost-PT(synflow)": {"cifar10": Published(6.24, 0.00), "cifar100": Published(28.89, 0.00), "ImageNet16-120": Published(58.56, 0.00)},
    "Zero-Cost-PT(nwot)": {"cifar10": Published(5.97, 0.17), "cifar100": Published(27.47, 0.28), "ImageNet16-120": Published(53.82, 0.77)},
}
"""Paper, Table 4: comparison on NAS-Bench-201 (footnotes: DARTS-PT C10 numbers from the DARTS-PT
paper, the others with its code over seeds 0-3; NASWOT with N=1000, averaged over 500 runs)."""
TABLE4_PROXIES: tuple[str, ...] = ("synflow", "nwot")
"""The proxies Table 4 compares: rows ``NASWOT(<proxy>)`` and ``Zero-Cost-PT(<proxy>)``, in this order."""

# --------------------------------------------------------------------------------- Table 5
@dataclass(frozen=True)
class Table5Row:
    """Table 5 (DARTS CNN space, CIFAR-10): test error avg ± std and best (%), parameters (M),
    search cost (GPU days; Zero-Cost-PT measured on one 2080Ti)."""

    avg: Published
    best: Optional[float]
    params_m: float
    cost_gpu_days: float


TABLE5: dict[str, Table5Row] = {
    "DARTS": Table5Row(Published(3.00, 0.14), None, 3.3, 0.4),
    "SDARTS-RS": Table5Row(Published(2.67, 0.03), None, 3.4, 0.4),
    "SGAS": Table5Row(Published(2.66, 0.24), None, 3.7, 0.25),
    "DARTS+PT": Table5Row(Published(2.61, 0.08), 2.48, 3.0, 0.8),
    "DARTS+PT (none)": Table5Row(Published(2.73, 0.13), 2.67, 3.2, 0.8),
    "Zero-Cost-PT (random)": Table5Row(Published(2.68, 0.17), 2.43, 4.7, 0.018),
    "Zero-Cost-PT (global-op-iter)": Table5Row(Published(2.62, 0.09), 2.49, 4.6, 0.17),
}
"""Paper, Table 5. Zero-Cost-PT rows: nwot, N=10, V=100, four search seeds, each trained 600
epochs with seeds 0-3 (C=36, 20 layers)."""
TABLE5_ZCPT_ORDERS: dict[str, str] = {"random": "Zero-Cost-PT (random)", "global-op-iter": "Zero-Cost-PT (global-op-iter)"}

SEARCH_COST_FACTS: dict[str, Any] = {
    "zcpt_darts_total_minutes": 25,
    "speedup_vs_darts_pt": 40,
    "gpu": "single 2080Ti",
}
"""Abstract and section 5.2: Zero-Cost-PT's total search on the DARTS space takes 25 minutes on a
single GPU, over 40x faster than DARTS-PT (Table 5's 0.018 GPU days = 25.9 minutes)."""

# --------------------------------------------------------------------------------- Table 6
TABLE6_DATASETS: tuple[str, ...] = ("cifar10", "cifar100", "svhn")
TABLE6_SPACES: tuple[str, ...] = ("darts-s1", "darts-s2", "darts-s3", "darts-s4")


@dataclass(frozen=True)
class Table6Row:
    """Table 6 (test error %): DARTS best, DARTS-PT best, DARTS-PT (fix alpha) best, Zero-Cost-PT
    avg ± std and best (Zero-Cost-PT: search seeds 0 and 2)."""

    darts_best: float
    darts_pt_best: float
    darts_pt_fix_alpha_best: float
    zcpt_avg: Published
    zcpt_best: float


TABLE6: dict[str, dict[str, Table6Row]] = {
    "cifar10": {
        "darts-s1": Table6Row(3.84, 3.5, 2.86, Published(2.75, 0.28), 2.55),
        "darts-s2": Table6Row(4.85, 2.79, 2.59, Published(2.49, 0.05), 2.45),
        "darts-s3": Table6Row(3.34, 2.49, 2.52, Published(2.47, 0.09), 2.40),
        "darts-s4": Table6Row(7.20, 2.64, 2.58, Published(5.23, 0.76), 4.69),
    },
    "cifar100": {
        "darts-s1": Table6Row(29.64, 24.48, 24.4, Published(22.05, 0.29), 21.84),
        "darts-s2": Table6Row(26.05, 23.16, 23.3, Published(20.97, 0.50), 20.61),
        "darts-s3": Table6Row(28.9, 22.03, 21.94, Published(21.02, 0.57), 20.61),
        "darts-s4": Table6Row(22.85, 20.80, 20.66, Published(25.70, 0.01), 25.69),
    },
    "svhn": {
        "darts-s1": Table6Row(4.58, 2.62, 2.39, Published(2.37, 0.06), 2.33),
        "darts-s2": Table6Row(3.53, 2.53, 2.32, Published(2.40, 0.05), 2.36),
        "darts-s3": Table6Row(3.41, 2.42, 2.32, Published(2.34, 0.05), 2.30),
        "darts-s4": Table6Row(3.05, 2.42, 2.39, Published(2.83, 0.06), 2.79),
    },
}
"""Paper, Table 6 (DARTS and DARTS-PT numbers taken by the paper from the DARTS-PT paper).
Architectures were searched on each dataset directly (A.5.2); CIFAR-10 models trained heavy
(C=36, 20 layers), CIFAR-100 and SVHN mobile (C=16, 8 layers)."""
TABLE6_ZCPT_SEEDS: tuple[int, ...] = (0, 2)

# --------------------------------------------------------------------------------- Table A1
@dataclass(frozen=True)
class TableA1Row:
    """Table A1 (ImageNet, architectures searched on CIFAR-10): top-1 / top-5 test error (%),
    parameters (printed as "Params [MB]"; the values are millions of parameters) and search time
    (GPU days); None where the paper prints "-"."""

    top1: Published
    top5: Published
    params_m: Optional[float]
    search_gpu_days: float


TABLE_A1: dict[str, TableA1Row] = {
    "DARTS": TableA1Row(Published(26.7), Published(8.7), 4.7, 0.4),
    "SDARTS-RS": TableA1Row(Published(25.6), Published(8.2), None, 0.4),
    "DARTS-PT": TableA1Row(Published(25.5), Published(8.0), 4.6, 0.8),
    "PC-DARTS": TableA1Row(Published(25.1), Published(7.8), 5.3, 0.1),
    "SGAS": TableA1Row(Published(24.1), Published(7.3), 5.4, 0.25),
    "Zero-Cost-PT (best)": TableA1Row(Published(24.4), Published(7.5), 6.3, 0.018),
    "Zero-Cost-PT (4 seeds)": TableA1Row(Published(24.6, 0.13), Published(7.6, 0.09), 6.3, 0.018),
}
"""Paper, Table A1 (Zero-Cost-PT: the random-order algorithm of Table 5, trained with DARTS's
ImageNet pipeline)."""
