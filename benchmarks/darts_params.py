"""Parameter counts (auxiliary head excluded) of DARTS genotypes in the paper's evaluation settings,
next to the published figures, and optional cell diagrams.

Settings: heavy (CIFAR-10: C=36, 20 layers, 10 classes), mobile (CIFAR-100 / SVHN: C=16, 8 layers;
counted for 100 and 10 classes) and ImageNet (C=48, 14 layers, 1000 classes).

    python benchmarks/darts_params.py                       # DARTS_V1/V2 and the published Zero-Cost-PT cells
    python benchmarks/darts_params.py --genotype my.json DARTS_V2 --json out/params.json --svg-dir out/cells

Published figures compared: DARTS (second order) 3.3M on CIFAR-10 (Table 5; REFERENCE-FACTS gives
3,349,342) and 4.7M on ImageNet (Table A1); Zero-Cost-PT 4.7M (random order) and 4.6M
(global-op-iter) on CIFAR-10, averaged over the four search seeds (Table 5), and 6.3M on ImageNet
(Table A1, which does not say which cells were trained).
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from zcpt_analysis.files import atomic_write_json
from zcpt_analysis.spaces.darts import param_count
from zcpt_analysis.spaces.genotypes import GENOTYPES
from zcpt_analysis.runs.genotype_input import resolve_genotype
from zcpt_analysis.viz import genotype_svg

COLUMNS = (("heavy_c10", "heavy", 10), ("mobile_c100", "mobile", 100), ("mobile_c10", "mobile", 10),
           ("imagenet", "imagenet", 1000))
DEFAULT = ["DARTS_V1", "DARTS_V2"] + sorted(n for n in GENOTYPES if n.startswith("ZCPT_"))
PUBLISHED = [  # (what, genotype names averaged, column, published millions, source)
    ("DARTS (2nd order), CIFAR-10", ["DARTS_V2"], "heavy_c10", 3.3, "Table 5 / REFERENCE-FACTS 3,349,342"),
    ("DARTS (2nd order), ImageNet", ["DARTS_V2"], "imagenet", 4.7, "Table A1"),
    ("Zero-Cost-PT random, CIFAR-10", [f"ZCPT_RANDOM_C10_SEED{s}" for s in range(4)], "heavy_c10", 4.7, "Table 5"),
    ("Zero-Cost-PT global-op-iter, CIFAR-10", [f"ZCPT_GLOBAL_OP_ITER_C10_SEED{s}" for s in range(4)], "heavy_c10", 4.6,
     "Table 5"),
    ("Zero-Cost-PT random cells, ImageNet", [f"ZCPT_RANDOM_C10_SEED{s}" for s in range(4)], "imagenet", 6.3,
     "Table A1"),
    ("Zero-Cost-PT ImageNet cells, ImageNet", [f"ZCPT_IMAGENET_SEED{s}" for s in range(4)], "imagenet", 6.3,
     "Table A1"),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--genotype", nargs="+", default=DEFAULT,
                        help="genotype names, JSON / record files or Genotype(...) strings (default: the named cells)")
    parser.add_argument("--json", default=None, help="write the counts to this JSON file")
    parser.add_argument("--svg-dir", default=None, help="write a cell diagram (SVG) per genotype into this folder")
    args = parser.parse_args(argv)

    counts: dict[str, dict[str, int]] = {}
    for spec in args.genotype:
        g = resolve_genotype(spec)
        label = Path(spec).stem if Path(spec).is_file() else spec[:40]
        counts[label] = {col: param_count(g, setting, num_classes=n) for col, setting, n in COLUMNS}
        if args.svg_dir:
            out = Path(args.svg_dir)
            out.mkdir(parents=True, exist_ok=True)
            (out / f"{label}.svg").write_text(genotype_svg(g), encoding="utf-8")

    header = f"{'genotype':<32}" + "".join(f"{col:>14}" for col, _, _ in COLUMNS)
    print("parameters (auxiliary head excluded)")
    print(header)
    for label, row in counts.items():
        print(f"{label:<32}" + "".join(f"{row[col]:>14,}" for col, _, _ in COLUMNS))

    comparisons = []
    for what, names, col, published, source in PUBLISHED:
        if all(n in counts for n in names):
            mean = statistics.mean(counts[n][col] for n in names)
            comparisons.append({"what": what, "genotypes": names, "setting": col, "measured": mean,
                                "measured_millions": round(mean / 1e6, 3), "published_millions": published,
                                "source": source, "matches_rounded": round(mean / 1e6, 1) == published})
    if comparisons:
        print("\nmeasured vs published (millions; mean over the listed cells)")
        for c in comparisons:
            print(f"  {c['what']:<42} {c['measured_millions']:>7.3f}  published {c['published_millions']:.1f} "
                  f"({c['source']}){'' if c['matches_rounded'] else '  <- differs'}")
    if args.json:
        atomic_write_json(args.json, {"columns": {c: {"setting": s, "num_classes": n} for c, s, n in COLUMNS},
                                      "counts": counts, "published": comparisons})
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
