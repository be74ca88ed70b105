"""``zcpt proxies``: list the zero-cost proxies and score one NAS-Bench-201 architecture with them."""
from __future__ import annotations

import argparse
import inspect
import json
import math
import time
from typing import Any

from ..errors import ZcptError

_RESERVED = {"net", "inputs", "targets", "loss_fn", "device"}


def register(sub: argparse._SubParsersAction) -> None:
    proxies = sub.add_parser("proxies", help="zero-cost proxies: list them, score an NAS-Bench-201 architecture")
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


def _list(args: argparse.Namespace) -> int:
    from ..proxies import get_proxy, proxy_names

    specs = [get_proxy(n) for n in proxy_names()]
    if args.json:
        print(json.dumps([{"name": s.name, "needs_labels": s.needs_labels, "needs_gradients": s.needs_gradients,
                           "higher_is_better": s.higher_is_better, "default_mode": s.default_mode, "cost": s.cost,
                           "chunking": s.chunking, "reference": s.reference, "description": s.description}
                          for s in specs], indent=2))
        return 0
    yes = {True: "yes", False: "no"}
    print(f"{'proxy':<10} {'labels':<7} {'grads':<6} {'higher=better':<14} {'mode':<6} cost")
    for s in specs:
        print(f"{s.name:<10} {yes[s.needs_labels]:<7} {yes[s.needs_gradients]:<6} {yes[s.higher_is_better]:<14} "
              f"{s.default_mode:<6} {s.cost}")
    print("NaN/inf policy: -inf = degenerate network (worst), NaN = undefined (ignored when choosing); "
          "see zcpt_analysis/proxies/policy.py")
    return 0


def parse_option(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` with VALUE read as int, float, true/false/none, or left a string."""
    if "=" not in text:
        raise ZcptError(f"proxy option {text!r} is not KEY=VALUE (e.g. mode=train)")
    key, raw = (part.strip() for part in text.split("=", 1))
    low = raw.lower()
    if low in ("true", "false"):
        return key, low == "true"
    if low == "none":
        return key, None
    for cast in (int, float):
        try:
            return key, cast(raw)
        except ValueError:
            pass
    return key, raw


def _options_for(fn: Any, options: dict[str, Any]) -> dict[str, Any]:
    params = inspect.signature(fn).parameters
    return {k: v for k, v in options.items() if k in params}


def _score(args: argparse.Namespace) -> int:
    import torch

    from ..data import MinibatchSampler, load_images
    from ..proxies import get_proxy, proxy_names
    from ..runtime import resolve_device
    from ..spaces import get_space

    names = args.proxy or ["nwot"]
    names = proxy_names() if any(n.strip().lower() == "all" for n in names) else [get_proxy(n).name for n in names]
    specs = [get_proxy(n) for n in dict.fromkeys(names)]
    options = dict(parse_option(o) for o in args.option)
    bad = [k for k in options if k in _RESERVED]
    if bad:
        raise ZcptError(f"option(s) {', '.join(bad)} cannot be set with -o (use --device; the rest is fixed)")
    unused = [k for k in options if not any(k in inspect.signature(s.fn).parameters for s in specs)]
    if unused:
        raise ZcptError(f"no selected proxy accepts option(s) {', '.join(unused)} "
                        f"(proxies: {', '.join(s.name for s in specs)})")

    device = resolve_device(args.device)
    space = get_space("nb201")
    arch_text = args.arch.strip()
    if arch_text.isdigit():
        from ..bench import load_benchmark

        arch = load_benchmark().arch_of(int(arch_text))
    else:
        arch = space.parse(arch_text)
    images = load_images(args.dataset, args.data_source, args.data_root)
    sampler = MinibatchSampler(images, args.batch_size, seed=args.seed, augment=not args.no_augment, device=device)
    inputs, targets = sampler.sample()
    net = space.network(arch, num_classes=images.num_classes, seed=args.seed).to(device)

    rows = []
    for spec in specs:
        start = time.perf_counter()
        value = spec.fn(net, inputs, targets, loss_fn=None, device=device, **_options_for(spec.fn, options))
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        rows.append({"proxy": spec.name, "score": value, "seconds": time.perf_counter() - start})
    if args.json:  # JSON has no NaN/inf: non-finite scores are written as strings ("-inf", "nan")
        rows_json = [dict(r, score=r["score"] if math.isfinite(r["score"]) else str(r["score"])) for r in rows]

    info = {"arch": arch.to_string(), "dataset": images.name, "num_classes": images.num_classes,
            "data": images.source, "batch_size": args.batch_size, "seed": args.seed, "augment": not args.no_augment,
            "device": str(device), "options": options, "scores": rows}
    if args.json:
        print(json.dumps(dict(info, scores=rows_json), indent=2))
        return 0
    print(f"arch     {info['arch']}")
    print(f"network  NAS-Bench-201 standalone, C=16 N=5, {images.num_classes} classes, weights seed {args.seed}")
    print(f"data     {images.source}, batch {args.batch_size} (seed {args.seed}"
          f"{', augmented' if info['augment'] else ''}), device {device}")
    if options:
        print("options  " + ", ".join(f"{k}={v}" for k, v in options.items()))
    print(f"{'proxy':<10} {'score (higher is better)':>26} {'time':>9}")
    for row in rows:
        print(f"{row['proxy']:<10} {row['score']:>26.10g} {row['seconds']:>8.3f}s")
    return 0
