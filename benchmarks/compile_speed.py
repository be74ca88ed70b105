"""Does ``torch.compile`` pay for Zero-Cost-PT? Eager vs compiled forward passes, same inputs.

Two places a search spends its forwards:

* the **validation stage** scores one fixed standalone network on V minibatches -- the best case
  for compilation (one graph, compiled once, reused V times);
* the **search stage** runs the supernet under a new mask state for every perturbation -- each
  state is different Python state, so a compiled supernet re-traces (counted here as recompiles).

For each: compile time (first call), steady-state seconds per forward, eager seconds per forward,
and the outputs' max abs difference. Channels-last on CPU as the library uses.

    python benchmarks/compile_speed.py --batch-size 64 --threads 1 --repeats 5
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zcpt_analysis.files import atomic_write_json  # noqa: E402
from zcpt_analysis.spaces import get_space  # noqa: E402

ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


def _time(fn, x: torch.Tensor, repeats: int) -> float:
    with torch.no_grad():
        started = time.perf_counter()
        for _ in range(repeats):
            fn(x)
        return (time.perf_counter() - started) / repeats


def _prepare(net: torch.nn.Module, x: torch.Tensor, channels_last: bool) -> tuple[torch.nn.Module, torch.Tensor]:
    net.eval()
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    return net, x


def standalone(args: argparse.Namespace, x: torch.Tensor) -> dict:
    space = get_space("nb201")
    net, x = _prepare(space.network(ARCH, num_classes=10, seed=0), x, args.channels_last)
    with torch.no_grad():
        eager_out = net(x)
    eager = _time(net, x, args.repeats)
    compiled = torch.compile(net)
    started = time.perf_counter()
    with torch.no_grad():
        compiled_out = compiled(x)
    compile_s = time.perf_counter() - started
    steady = _time(compiled, x, args.repeats)
    return {"what": "standalone NB201 network (validation stage)", "eager_s": eager, "compiled_s": steady,
            "compile_s": compile_s, "speedup": eager / steady,
            "max_abs_diff": float((eager_out - compiled_out).abs().max())}


def supernet_perturbations(args: argparse.Namespace, x: torch.Tensor) -> dict:
    import torch._dynamo

    space = get_space("nb201")
    net, x = _prepare(space.supernet(num_classes=10, seed=0), x, args.channels_last)
    edge = 0
    ops = range(net.num_ops)

    def sweep(fn) -> float:
        started = time.perf_counter()
        with torch.no_grad():
            for o in ops:
                with net.perturbed(edge, o):
                    fn(x)
        return time.perf_counter() - started

    sweep(net)  # warm-up: first-call allocations
    eager = sweep(net)
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    compiled = torch.compile(net)
    first = sweep(compiled)   # one trace + compile per mask state (inductor's on-disk cache may shorten it)
    second = sweep(compiled)  # the states again (cached graphs, if the guards hold)
    frames = dict(torch._dynamo.utils.counters["stats"])
    return {"what": f"supernet, the {net.num_ops} perturbations of edge {edge} (search stage)",
            "eager_s": eager, "compiled_first_sweep_s": first, "compiled_second_sweep_s": second,
            "speedup_second_sweep": eager / second, "dynamo_stats": frames}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--no-channels-last", dest="channels_last", action="store_false")
    p.add_argument("--parts", nargs="+", default=["standalone", "supernet"], choices=["standalone", "supernet"])
    p.add_argument("--out", default=None, help="write the results to this JSON file")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x = torch.randn(args.batch_size, 3, 32, 32)
    rows = []
    for part in args.parts:
        r = {"standalone": standalone, "supernet": supernet_perturbations}[part](args, x)
        rows.append(r)
        print(r["what"])
        for k, v in r.items():
            if k != "what":
                print(f"  {k:<26}{v:.4g}" if isinstance(v, float) else f"  {k:<26}{v}", flush=True)
    if args.out:
        atomic_write_json(args.out, {"batch_size": args.batch_size, "threads": torch.get_num_threads(),
                                     "torch": torch.__version__, "rows": rows})


if __name__ == "__main__":
    main()
