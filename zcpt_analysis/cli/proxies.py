"""``zcpt proxies``: list the zero-cost proxies and score one NAS-Bench-201 architecture with them."""
from __future__ import annotations

import argparse
import json
import math
import textwrap

from . import command_help


def register(sub: argparse._SubParsersAction) -> None:
    proxies = sub.add_parser("proxies", help=command_help("proxies"))
    cmds = proxies.add_subparsers(dest="proxies_command", metavar="ACTION")
    cmds.required = True

    lst = cmds.add_parser("list", help="the registered proxies with their metadata")
    lst.add_argument("--json", action="store_true", help="print JSON")
    lst.set_defaults(func=_list)

    from ..data import SOURCES
    from ..runtime import DEVICE_CHOICES

    sc = cmds.add_parser("score", help="score one NAS-Bench-201 standalone network on a seeded minibatch",
                         description="Build the standalone NAS-Bench-201 network of ARCH (C=16, N=5, weights from "
                                     "--seed), draw one seeded minibatch and print each proxy's score "
                                     "(higher is better for every proxy).")
    sc.add_argument("arch", help="official arch string |op~0|+|op~0|op~1|+|op~0|op~1|op~2|, or a benchmark index")
    sc.add_argument("--proxy", action="append", default=None, metavar="NAME",
                    help="proxy to compute (repeatable, or 'all'; default nwot)")
    sc.add_argument("--dataset", default="cifar10", help="cifar10 (default), cifar100, svhn, imagenet16-120, synthetic")
    sc.add_argument("--batch-size", type=int, default=64, help="minibatch size (default 64)")
    sc.add_argument("--seed", type=int, default=0, help="seed of the network weights and of the minibatch (default 0)")
    sc.add_argument("--data-source", default="auto", choices=SOURCES,
                    help="sample (the shared real CIFAR-10 sample), png, full (needs --data-root), synthetic; "
                         "auto = full if --data-root is given, else sample")
    sc.add_argument("--data-root", default=None, help="folder of the full dataset (torchvision / ImageNet16 pickles)")
    sc.add_argument("--device", default="auto", choices=DEVICE_CHOICES, help="auto (CUDA when available), cpu, cuda")
    sc.add_argument("--no-augment", action="store_true", help="no random crop / flip (default: the paper's augmentation)")
    sc.add_argument("-o", "--option", action="append", default=[], metavar="KEY=VALUE",
                    help="proxy option, e.g. mode=train, hooks=published, chunk_size=32, log=true (repeatable; "
                         "given to every selected proxy that accepts it)")
    sc.add_argument("--json", action="store_true", help="print JSON")
    sc.set_defaults(func=_score)

    from ..runs.specs import ProxyStudySpec
    from .options import add_run_options, spec_command

    st = cmds.add_parser("study", help="rank-correlate every proxy with NAS-Bench-201 accuracy on sampled networks",
                         description="The proxy study: score a seeded sample of NAS-Bench-201 standalone networks "
                                     "with every proxy on one minibatch of the shared CIFAR-10 sample and print the "
                                     "Spearman / Kendall correlations with each dataset's test accuracy next to the "
                                     "published ones. Scores stream into the results store; an interrupted study "
                                     "resumes.")
    spec_command(st, ProxyStudySpec, _study, seeds=None)
    add_run_options(st)


def _list(args: argparse.Namespace) -> int:
    from ..proxies import ProxySpec, get_proxy, proxy_names
    from ..proxies.published import NB201_DATASETS, published_for

    specs = [get_proxy(n) for n in proxy_names()]
    if args.json:
        rows = []
        for s in specs:
            ref = published_for(s.reference_label)
            rows.append({"name": s.name, "needs_labels": s.needs_labels, "needs_gradients": s.needs_gradients,
                         "higher_is_better": s.higher_is_better, "sign": s.sign, "relative": s.relative,
                         "default_mode": s.default_mode, "cost": s.cost, "chunking": s.chunking,
                         "reference": s.reference, "description": s.description,
                         "published_nb201_spearman": None if ref is None else
                         {"source": ref.source, "setting": ref.setting, "rho": dict(ref.spearman)}})
        print(json.dumps(rows, indent=2))
        return 0
    yes = {True: "yes", False: "no"}
    short = {"cifar10": "C10", "cifar100": "C100", "ImageNet16-120": "IN16"}

    def rho_text(spec: ProxySpec) -> str:
        ref = published_for(spec.reference_label)
        if ref is None:
            return "-"
        variant = ", ".join(f"{k}={v}" for k, v in spec.reference_options.items())
        return " ".join(f"{short[d]} {ref.spearman[d]:.2f}" for d in NB201_DATASETS if d in ref.spearman) + (
            f" ({variant})" if variant else "")

    print(f"{'proxy':<10} {'labels':<7} {'grads':<6} {'mode':<14} {'published rho, NB201':<28} sign")
    for s in specs:
        print(f"{s.name:<10} {yes[s.needs_labels]:<7} {yes[s.needs_gradients]:<6} {s.default_mode:<14} "
              f"{rho_text(s):<28} {s.sign}")
    print("\nreferences:")
    for s in specs:
        print(f"  {s.name:<10} {s.reference}")
    print("\n" + textwrap.fill(
        "Every score is signed so that higher is better (plain keeps its published sign, which correlates "
        "negatively). Published rho: NAS-Bench-Suite-Zero Fig. 2 (1,000 random NB201 archs), MeCo and SWAP from "
        "their papers; --json gives sources and settings.", 100))
    print(textwrap.fill("NaN/inf policy: -inf = degenerate network (worst), NaN = undefined (ignored when choosing); "
                        "see zcpt_analysis/proxies/policy.py", 100))
    return 0


def _score(args: argparse.Namespace) -> int:
    from ..options import key_values
    from ..proxies.arch_scores import score_arch_table

    result = score_arch_table(args.arch, args.proxy or ["nwot"], dataset=args.dataset, batch_size=args.batch_size,
                              seed=args.seed, data_source=args.data_source, data_root=args.data_root,
                              device=args.device, augment=not args.no_augment, options=key_values(args.option, "-o"))
    if args.json:  # JSON has no NaN/inf: non-finite scores are written as strings ("-inf", "nan")
        info = result.to_json()
        info["scores"] = [dict(r, score=r["score"] if math.isfinite(r["score"]) else str(r["score"]))
                          for r in info["scores"]]
        print(json.dumps(info, indent=2))
        return 0
    print(f"arch     {result.arch}")
    print(f"network  NAS-Bench-201 standalone, C=16 N=5, {result.num_classes} classes, weights seed {result.seed}")
    print(f"data     {result.data}, batch {result.batch_size} (seed {result.seed}"
          f"{', augmented' if result.augment else ''}), device {result.device}")
    if result.options:
        print("options  " + ", ".join(f"{k}={v}" for k, v in result.options.items()))
    print(f"{'proxy':<10} {'score (higher is better)':>26} {'time':>9}")
    for row in result.scores:
        print(f"{row.proxy:<10} {row.score:>26.10g} {row.seconds:>8.3f}s")
    return 0


def _study(args: argparse.Namespace) -> int:
    import pandas as pd

    from .options import store_of

    (spec,) = args.specs(args)
    store = store_of(args, [spec])
    record = store.run(spec, progress=not args.quiet, force=args.force)
    print(f"proxy study: {record.num_archs} of {record.planned_archs} architectures complete; record "
          f"{store.path_for(spec)}")
    if record.rows:
        columns = ["proxy", "cifar10 rho", "cifar10 reference rho", "cifar100 rho", "ImageNet16-120 rho",
                   "rho with params", "seconds per arch"]
        with pd.option_context("display.width", 200, "display.max_columns", 20):
            print(pd.DataFrame(record.rows)[columns].round(3).to_string(index=False))
        print(record.reference_note)
    return 0
