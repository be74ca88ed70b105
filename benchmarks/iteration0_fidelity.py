"""Iteration-0 fidelity of zc-pt (issue 19): which difference from the published setting makes our
A_0 prefer 1x1 where the authors' prefers 3x3 and skip?

Setting: the paper's NB201 C=16 N=5 untrained supernet, nwot, proxy batch 256, one augmented
minibatch per edge (``ctx.proxy_batch``, as ``zcpt scores``). A *variant* is one nwot semantics
(:data:`zcpt_analysis.fidelity.SEMANTICS`: how weight-0 ops run and which modules are hooked)
under one *condition* (:data:`CONDITIONS`: the inputs, alpha, BatchNorm mode); ``ours`` on
``sample`` is our default, each other variant changes one or two things. For every variant and
seed it reports

* rho(zc-pt, best-acc): Figure 2's mean per-edge Spearman correlation (paper: 0.767);
* the Table 1 architecture of zc-pt's iteration-0 choices: test error (%) / rank (paper 5.81 / 14);
* whether skip_connect is kept on 3<-0, how many of the six choices equal the paper's (3x3, 3x3,
  1x1, skip, 3x3, 1x1) and best-acc's;
* the mean over edges of the removal drops ``S(A_0 - (e, o)) - S(A_0 - (e, none))`` per op.

Reference rows: the paper's numbers, and the same measurements on the authors' own iteration-0
scores of seeds 0-3 as their code logged them (:data:`zcpt_analysis.paper.ITERATION0_LOG`; seed 1
is the paper's run), which show how much the authors' choices vary between seeds.

Computation (resumable, one core is enough; several processes share the work):

* every condition x seed: one forward per (edge, op) gives all five semantics at once
  (:func:`zcpt_analysis.fidelity.perturbation_scores`), saved edge by edge in
  ``<results-dir>/multi/<condition>-s<seed>.json``;
* ``--standard`` semantics on the default condition: ordinary ``zcpt scores`` records in
  ``<results-dir>`` (default ``ours`` and ``block-input``), so ``zcpt scores --out <results-dir>
  ... --table1 --correlations`` prints them; the report checks that the one-forward tables equal
  them (``max |diff|``).

    /work/wt/heavy python benchmarks/iteration0_fidelity.py --threads 1            # compute + report
    python benchmarks/iteration0_fidelity.py --report                              # stored tables only
    python benchmarks/iteration0_fidelity.py --commands                            # zcpt commands

What the published code does (``nasbench201/`` of visionbasicagent/zerocost_operation_score):
the supernet is DARTS-PT's ``TinyNetwork`` (same parameters as ours: 1,686,106 -- their log says
"param size = 1.686106MB" -- and the same 369 modules with ``ReLU`` in their type name), stem /
reduction blocks / last BN affine, cell BNs ``affine=False`` tracking statistics, PyTorch's
default initialisation; undiscretized edges are weighted softmax(alpha) (``Jocab_Score`` path;
the 1/|O| weights of ``pt_project`` are only in its branch for the other proxies); scoring runs
``Jocab_Score`` on a deep copy in ``eval()`` and nothing runs a forward before it, so BatchNorm
running statistics stay 0 / 1; inputs are CIFAR-10 training images (first half,
``train_portion`` 0.5) with random crop 32 / padding 4, horizontal flip and the same
normalisation as ours; and every op runs: ``layer(x, block_input=True) * w if w == 0 else
layer(x) * w``, where ``ReLUConvBN(x, block_input=True)`` zeroes ``x`` *inside* the module, so the
forward hook on the wrapper sees the real input -- our ``block-input`` mode.
"""
from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import pandas as pd
import torch

from zcpt_analysis import paper
from zcpt_analysis.scoring.analysis import correlation_matrix, table1
from zcpt_analysis.fidelity import SEMANTICS, perturbation_scores
from zcpt_analysis.files import atomic_write_json, atomic_write_text, read_json
from zcpt_analysis.runs import ResultStore, ScoresSpec
from zcpt_analysis.runs.store import ClaimedError
from zcpt_analysis.scoring import ScoringContext
from zcpt_analysis.spaces.nb201 import EDGES

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_STORE = RESULTS / "iteration0_fidelity"
DEFAULT_OUT = RESULTS / "iteration0_fidelity.json"
DROP_OPS: tuple[str, ...] = ("skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
FIGURE2_RHO = 0.767
"""Figure 2's rho(zc-pt, best-acc) as published (the authors' notebook ``op_strength.ipynb`` prints
0.766667: mean over edges of the Spearman rho over all five ops of their raw scores)."""
AUTHORS = "authors' code (log)"

SEMANTICS_WHAT: dict[str, str] = {
    "ours": "our default: weight-0 ops skipped (fast mode), nwot hooks on nn.ReLU only",
    "hooks-only": "published hook set (ReLUConvBN wrappers too), weight-0 ops skipped",
    "zero-input-relu": "every op runs (a removed op's inner ReLU codes zeros), hooks on nn.ReLU only",
    "published-v1": "every op runs, a weight-0 op called on a zeroed input (its wrapper hook codes zeros): the "
                    "first release's 'published' mode",
    "block-input": "every op runs, a weight-0 op called on its real input and zeroed inside (its wrapper hook codes "
                   "x): the published code",
}


@dataclass(frozen=True)
class Condition:
    """What the activations depend on: ``changes`` to the :class:`ScoresSpec` of our default."""

    name: str
    changes: dict[str, Any]
    what: str
    published: str

    @property
    def bn_mode(self) -> str:
        return self.changes.get("proxy_options", {}).get("mode", "eval")


CONDITIONS: tuple[Condition, ...] = (
    Condition("sample", {}, "400 training images of the shared CIFAR-10 sample, augmented",
              "25,000 CIFAR-10 training images (train_portion 0.5), augmented"),
    Condition("data-550", {"data_source": "sample-all"}, "all 550 sample images (train + test)", "25,000 images"),
    Condition("data-synthetic", {"data_source": "synthetic"}, "Gaussian N(0,1) inputs, no augmentation",
              "real images"),
    Condition("uniform-weights", {"supernet_options": {"alpha_std": 0.0}},
              "undiscretized edges weighted exactly 1/|O| (alpha = 0)", "softmax(1e-3 N(0,1))"),
    Condition("bn-train", {"proxy_options": {"mode": "train"}}, "BatchNorm batch statistics while scoring",
              "eval(); running statistics never updated (0 / 1)"),
)
CONDITION_NAMES = tuple(c.name for c in CONDITIONS)


def condition(name: str) -> Condition:
    for c in CONDITIONS:
        if c.name == name:
            return c
    raise SystemExit(f"unknown condition {name!r}; valid: {', '.join(CONDITION_NAMES)}")


def variant_name(semantics: str, cond: str) -> str:
    return semantics if cond == "sample" else f"{semantics}+{cond}"


@dataclass
class Setting:
    """What every table shares (the paper's setting by default; tests shrink it)."""

    batch_size: int = 256
    supernet_options: dict = field(default_factory=dict)
    device: str = "cpu"

    def spec(self, semantics: str, cond: Condition, seed: int) -> ScoresSpec:
        """The ``zcpt scores`` spec that computes the (semantics, condition) table of ``seed``."""
        mode, hooks = SEMANTICS[semantics]
        proxy_options = dict(cond.changes.get("proxy_options", {}), **({"hooks": hooks} if hooks != "relu" else {}))
        values: dict[str, Any] = dict(method="zc-pt", space="nb201", seed=seed, proxy="nwot",
                                      proxy_batch_size=self.batch_size, data_source="sample", device=self.device,
                                      supernet_mode=mode, proxy_options=proxy_options,
                                      supernet_options=dict(self.supernet_options,
                                                            **cond.changes.get("supernet_options", {})))
        values.update({k: v for k, v in cond.changes.items() if k not in ("proxy_options", "supernet_options")})
        return ScoresSpec(**values)

    def oracle(self) -> ScoresSpec:
        return ScoresSpec(method="best-acc", space="nb201", device=self.device)

    def identity(self) -> dict[str, Any]:
        return {"batch_size": self.batch_size, "supernet_options": self.supernet_options}


# ----------------------------------------------------------------------------- computing
def multi_path(store: ResultStore, cond: Condition, seed: int) -> Path:
    return store.root / "multi" / f"{cond.name}-s{seed}.json"


def load_multi(store: ResultStore, setting: Setting, cond: Condition, seed: int) -> dict[str, Any]:
    path = multi_path(store, cond, seed)
    if path.exists():
        data = read_json(path)
        if data.get("setting") != setting.identity():
            raise SystemExit(f"{path} holds another setting ({data.get('setting')}); use another --results-dir")
        return data
    return {"condition": cond.name, "seed": seed, "setting": setting.identity(), "edges": {}, "seconds": 0.0}


def compute_multi(store: ResultStore, setting: Setting, cond: Condition, seed: int, quiet: bool) -> None:
    """All five semantics of (condition, seed), edge by edge (an interrupted table resumes at its
    first missing edge)."""
    data = load_multi(store, setting, cond, seed)
    if len(data["edges"]) == len(EDGES):
        return
    ctx = ScoringContext(settings=setting.spec("block-input", cond, seed))
    net = ctx.untrained_supernet()
    for e, name in enumerate(EDGES):
        if name in data["edges"]:
            continue
        t0 = time.time()
        x, _ = ctx.proxy_batch(0, e)
        data["edges"][name] = perturbation_scores(net, e, x, bn_mode=cond.bn_mode)
        data["seconds"] += time.time() - t0
        atomic_write_json(multi_path(store, cond, seed), data)
        if not quiet:
            print(f"# {cond.name} seed {seed} edge {name}: {time.time() - t0:.0f} s", file=sys.stderr, flush=True)


def compute(store: ResultStore, setting: Setting, conds: list[Condition], seeds: list[int], standard: list[str],
            quiet: bool) -> None:
    """The best-acc table, the ``--standard`` records, then every (condition, seed) table; a
    record another process is computing is skipped on the first pass and waited for on the second."""
    store.run(setting.oracle())
    specs = [setting.spec(s, condition("sample"), seed) for s in standard for seed in seeds]
    for wait in (False, True):
        for spec in store.missing(specs):
            try:
                store.run(spec, progress=not quiet, wait=wait)
            except ClaimedError:
                continue
    for cond in conds:
        for seed in seeds:
            compute_multi(store, setting, cond, seed, quiet)


# ----------------------------------------------------------------------------- measuring
def score_table(scores: dict[str, dict[str, float]]) -> pd.DataFrame:
    """``{edge: {op: S(A_0 - (e, o))}}`` as a zc-pt score table (columns of ``score_operations``)."""
    return pd.DataFrame([{"edge": edge, "op": op, "method": "zc-pt", "score": v, "higher_is_better": False,
                          "for_correlation": -v, "edge_index": EDGES.index(edge), "iteration": 0}
                         for edge in EDGES for op, v in scores[edge].items()])


def authors_table(seed: int) -> pd.DataFrame:
    """The authors' logged iteration-0 zc-pt scores of ``seed`` (:data:`paper.ITERATION0_LOG`)."""
    rows = paper.ITERATION0_LOG[seed]
    return score_table({edge: dict(zip(paper.ITERATION0_LOG_OPS, rows[i])) for i, edge in enumerate(EDGES)})


def choices(table: pd.DataFrame) -> tuple[str, ...]:
    """zc-pt's choice per edge (arg min of ``S(A_0 - (e, o))``), in canonical edge order."""
    pick = table.loc[table.groupby("edge")["score"].idxmin()]
    chosen = dict(zip(pick["edge"], pick["op"]))
    return tuple(chosen[e] for e in EDGES)


def drops(table: pd.DataFrame) -> dict[str, float]:
    """Mean over edges of ``S(A_0 - (e, o)) - S(A_0 - (e, none))`` per op of :data:`DROP_OPS`."""
    wide = table.pivot(index="edge", columns="op", values="score")
    return {o: float((wide[o] - wide["none"]).mean()) for o in DROP_OPS}


def short(op: str) -> str:
    return {"none": "none", "skip_connect": "skip", "nor_conv_1x1": "1x1", "nor_conv_3x3": "3x3",
            "avg_pool_3x3": "avg"}[op]


def measure(store: ResultStore, setting: Setting, conds: list[Condition], seeds: list[int]) -> pd.DataFrame:
    """One row per computed (variant, seed), after the authors' logged seeds."""
    from zcpt_analysis.bench import load_benchmark

    oracle = store.find(setting.oracle())
    if oracle is None:
        raise SystemExit("the best-acc table is missing: run without --report first")
    best = oracle.table()
    best_choice = tuple(best.loc[best.groupby("edge")["score"].idxmax()].set_index("edge")["op"][list(EDGES)])
    bench = load_benchmark()
    paper_choice = choices(authors_table(1))

    def row(name: str, seed: int, zc: pd.DataFrame, **extra: Any) -> dict[str, Any]:
        rho = correlation_matrix(pd.concat([best, zc], ignore_index=True)).loc["zc-pt", "best-acc"]
        t1 = table1(zc, bench).iloc[0]
        choice = choices(zc)
        return {"variant": name, "seed": seed, "rho": float(rho), "error": float(t1["error_measured"]),
                "rank": int(t1["rank_measured"]), "arch": t1["arch"],
                "skip_on_3<-0": choice[EDGES.index("3<-0")] == "skip_connect",
                "match_paper": sum(a == b for a, b in zip(choice, paper_choice)),
                "match_best_acc": sum(a == b for a, b in zip(choice, best_choice)),
                "choice": ", ".join(short(o) for o in choice),
                **{f"drop_{short(o)}": d for o, d in drops(zc).items()}, **extra}

    rows = [row(AUTHORS, s, authors_table(s)) for s in sorted(paper.ITERATION0_LOG)]
    for cond in conds:
        for seed in seeds:
            data = load_multi(store, setting, cond, seed)
            if len(data["edges"]) < len(EDGES):
                if cond.name == "sample":  # the ordinary `zcpt scores` records of the --standard semantics
                    for sem in SEMANTICS:
                        rec = store.find(setting.spec(sem, cond, seed))
                        if rec is not None:
                            zc = rec.table()
                            rows.append(row(variant_name(sem, cond.name), seed, zc[zc["method"] == "zc-pt"],
                                            seconds_record=float(rec.timing.get("scoring", math.nan))))
                continue
            for sem in SEMANTICS:
                zc = score_table({edge: data["edges"][edge][sem] for edge in EDGES})
                extra: dict[str, Any] = {"seconds_all_semantics": round(data["seconds"], 1)}
                rec = store.find(setting.spec(sem, cond, seed))
                if rec is not None:  # the ordinary `zcpt scores` record of this table
                    mine = zc.set_index(["edge", "op"])["score"]
                    theirs = rec.table().set_index(["edge", "op"])["score"].reindex(mine.index)
                    extra["max_diff_vs_record"] = float((mine - theirs).abs().max())
                    extra["seconds_record"] = float(rec.timing.get("scoring", math.nan))
                rows.append(row(variant_name(sem, cond.name), seed, zc, **extra))
    return pd.DataFrame(rows)


def _mean_std(values: pd.Series, digits: int) -> str:
    vals = [float(x) for x in values]
    if len(vals) == 1:
        return f"{vals[0]:.{digits}f}"
    return f"{statistics.fmean(vals):.{digits}f} ± {statistics.stdev(vals):.{digits}f}"


def order(conds: list[Condition]) -> list[tuple[str, str]]:
    """Report order: every semantics on the default inputs, then each other condition with our
    semantics and with the published code's."""
    names = [(variant_name(s, "sample"), SEMANTICS_WHAT[s]) for s in SEMANTICS] if any(
        c.name == "sample" for c in conds) else []
    for sem in ("ours", "block-input"):
        names += [(variant_name(sem, c.name), f"{sem}; {c.what}") for c in conds if c.name != "sample"]
    return names


def summary(rows: pd.DataFrame, conds: list[Condition]) -> pd.DataFrame:
    """One row per variant: mean ± std over its seeds, after the paper's row and the authors' log."""
    ref = paper.TABLE1["zc-pt"]
    out = [{"variant": "paper (Table 1, Figure 2)", "seeds": "1", "rho(zc-pt, best-acc)": f"{FIGURE2_RHO:.3f}",
            "zc-pt error [%]": f"{ref.error:.2f}", "rank": str(ref.rank), "skip on 3<-0": "-",
            "edges = paper's": "6/6", "edges = best-acc's": "-", **{f"drop {short(o)}": "-" for o in DROP_OPS},
            "what": "as published"}]
    for name, what in [(AUTHORS, "the authors' code: experiments/corr_time/zc-{seed}.txt")] + order(conds):
        sub = rows[rows["variant"] == name]
        if not len(sub):
            continue
        out.append({"variant": name, "seeds": ",".join(str(s) for s in sub["seed"]),
                    "rho(zc-pt, best-acc)": _mean_std(sub["rho"], 3), "zc-pt error [%]": _mean_std(sub["error"], 2),
                    "rank": "/".join(str(r) for r in sub["rank"]),
                    "skip on 3<-0": f"{int(sub['skip_on_3<-0'].sum())}/{len(sub)}",
                    "edges = paper's": f"{sub['match_paper'].mean():.1f}/6",
                    "edges = best-acc's": f"{sub['match_best_acc'].mean():.1f}/6",
                    **{f"drop {short(o)}": f"{sub[f'drop_{short(o)}'].mean():+.1f}" for o in DROP_OPS},
                    "what": what})
    return pd.DataFrame(out)


def markdown(table: pd.DataFrame) -> str:
    cols = list(table.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r[c]) for c in cols) + " |" for _, r in table.iterrows()]
    return "\n".join(lines)


def missing(store: ResultStore, setting: Setting, conds: list[Condition], seeds: list[int],
            standard: list[str]) -> list[str]:
    """What is not computed yet: ``zcpt scores`` commands of missing records, then multi tables."""
    specs = [setting.oracle()] + [setting.spec(s, condition("sample"), seed) for s in standard for seed in seeds]
    todo = [s.command(store.root) for s in store.missing(specs)]
    todo += [f"# {multi_path(store, c, s)} ({len(load_multi(store, setting, c, s)['edges'])}/6 edges)"
             for c in conds for s in seeds if len(load_multi(store, setting, c, s)["edges"]) < len(EDGES)]
    return todo


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    p.add_argument("--conditions", nargs="+", default=list(CONDITION_NAMES), choices=CONDITION_NAMES,
                   metavar="COND", help=f"conditions to compute and report (default: all): {', '.join(CONDITION_NAMES)}")
    p.add_argument("--standard", nargs="*", default=["ours", "block-input"], choices=list(SEMANTICS),
                   metavar="SEMANTICS", help="semantics also computed as ordinary `zcpt scores` records on the "
                   "default inputs (default: ours block-input)")
    p.add_argument("--batch-size", type=int, default=256, help="proxy minibatch (paper: 256)")
    p.add_argument("--supernet-option", action="append", default=[], metavar="KEY=VALUE",
                   help="supernet shape for quick checks, e.g. C=4 (default: the paper's C=16, N=5)")
    p.add_argument("--results-dir", type=Path, default=DEFAULT_STORE, help="results store of the score tables")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="summary JSON (a .md table is written next to it)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--report", action="store_true", help="only report what is stored (compute nothing)")
    p.add_argument("--commands", action="store_true", help="list what is missing (zcpt commands, multi tables)")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    from zcpt_analysis.options import parse_key_value

    torch.set_num_threads(args.threads)
    setting = Setting(args.batch_size, dict(parse_key_value(o, "supernet option") for o in args.supernet_option),
                      args.device)
    conds = [condition(n) for n in args.conditions]
    store = ResultStore(args.results_dir)
    if args.commands:
        print("\n".join(missing(store, setting, conds, args.seeds, args.standard)) or "# nothing missing")
        return 0
    if not args.report:
        compute(store, setting, conds, args.seeds, args.standard, args.quiet)
    rows = measure(store, setting, conds, args.seeds)
    table = summary(rows, conds)
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 30)
    print("# iteration-0 zc-pt per variant (measured, mean ± std over seeds; first two rows: the paper, and the "
          "authors' logged scores measured the same way)")
    print(table.drop(columns=["what"]).to_string(index=False))
    shown = [AUTHORS] + [name for name, _ in order(conds)]
    per_seed = rows[rows["variant"].isin(shown)].drop(columns=["arch"])
    print("\n# per seed (measured)")
    print(per_seed.sort_values("variant", key=lambda v: v.map(shown.index), kind="stable").round(3).to_string(index=False))
    todo = missing(store, setting, conds, args.seeds, args.standard)
    if todo:
        print(f"\n# {len(todo)} table(s) not computed yet (--commands lists them)")
    record = {"kind": "iteration0-fidelity", "seeds": args.seeds, "setting": setting.identity(),
              "store": str(args.results_dir),
              "semantics": {k: {"mode": m, "hooks": h, "what": SEMANTICS_WHAT[k]} for k, (m, h) in SEMANTICS.items()},
              "conditions": [{"name": c.name, "changes": c.changes, "what": c.what, "published": c.published}
                             for c in conds],
              "paper": {"rho": FIGURE2_RHO, "table1": {"error": paper.TABLE1["zc-pt"].error,
                                                        "rank": paper.TABLE1["zc-pt"].rank}},
              "summary": table.to_dict(orient="records"), "rows": rows.to_dict(orient="records"), "missing": todo}
    atomic_write_json(args.out, record)
    atomic_write_text(args.out.with_suffix(".md"), markdown(table) + "\n")
    print(f"# wrote {args.out} and {args.out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
