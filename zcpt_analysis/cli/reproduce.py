"""``zcpt reproduce``: compute what the paper's tables and figures need, on a Dask cluster or serially."""
from __future__ import annotations

import argparse

from . import command_help


def register(sub: argparse._SubParsersAction) -> None:
    from ..experiments import PRESETS, TARGETS
    from ..experiments.reproduce import CLUSTERS, EXECUTORS, targets_help

    p = sub.add_parser(
        "reproduce", help=command_help("reproduce"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Plan the run specs the TARGETs need in --preset, skip those whose complete record is in "
                    "--results-dir, and compute the rest: one task per spec on a Dask cluster (a local one by "
                    "default, --scheduler, or SLURM worker jobs with --cluster slurm), or --executor serial in this process. A failing spec is reported at "
                    "the end with its error and command and does not stop the others; Ctrl-C stops cleanly and the "
                    "same command continues (interrupted searches resume).\n\ntargets:\n" + targets_help())
    p.add_argument("targets", nargs="*", metavar="TARGET",
                   help="tables / figures (default: all): " + ", ".join(t.name for t in TARGETS))
    p.add_argument("--preset", default="smoke", choices=PRESETS,
                   help="smoke: tiny networks, minutes; cpu: the paper's network sizes with 2-core CPU budgets "
                        "(README), training left to a GPU; paper: the paper's configuration (GPU) (default smoke)")
    p.add_argument("--results-dir", default=None, metavar="DIR",
                   help="results store (default runs/<preset>, e.g. runs/cpu; what `zcpt report` reads)")
    p.add_argument("--executor", default="dask", choices=EXECUTORS,
                   help="dask: one task per spec on a Dask cluster (default); serial: in this process, one by one")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="local cluster: worker processes (default: one per GPU, else one per core)")
    p.add_argument("--threads-per-worker", type=int, default=None, metavar="T",
                   help="torch threads of each spec (default: zcpt --threads if given, else for a local cluster the "
                        "machine's cores / workers, for serial torch's default)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="use a running Dask cluster: tcp://HOST:PORT or a scheduler file (dask scheduler "
                        "--scheduler-file FILE); workers should run `dask worker --nthreads T --resources spec=1`")
    p.add_argument("--cluster", default="local", choices=CLUSTERS,
                   help="where --executor dask starts its workers: local (this machine, default) or slurm (one SLURM "
                        "batch job per worker, through dask-jobqueue; run it on a login node)")
    p.add_argument("--slurm-option", action="append", default=None, metavar="KEY=VALUE",
                   help="--cluster slurm: what each worker job asks for (repeatable): partition, account, time "
                        "(04:00:00), memory (16GB), cores (torch threads), gpus (1 or TYPE:1), qos, constraint, "
                        "interface (ib0), logs (folder; default <results-dir>/slurm-logs)")
    p.add_argument("--max-jobs", type=int, default=None, metavar="N",
                   help="--cluster slurm: worker jobs at most (default 8; one per spec that can run)")
    p.add_argument("--dashboard-address", default=None, metavar="HOST:PORT",
                   help="local cluster's dashboard (default 127.0.0.1:8787; 'none': no dashboard)")
    p.add_argument("--seeds", type=int, nargs="+", default=None, metavar="SEED",
                   help="Zero-Cost-PT search seeds of the search targets (default: the preset's)")
    p.add_argument("--only", action="append", default=None, metavar="FIELD=V1,V2",
                   help="keep only the specs whose identity FIELD is one of the values (repeatable), e.g. "
                        "--only order=random,fixed --only kind=zcpt-search")
    p.add_argument("--data-root", default=None, metavar="DIR", help="folder of the full datasets (default: the "
                   "shared CIFAR-10 sample)")
    p.add_argument("--device", default=None, help="device of the runs (default: the preset's; cpu preset: cpu)")
    p.add_argument("--dry-run", action="store_true",
                   help="print the plan (specs to run with their estimated cost on this machine, per target and in "
                        "total; specs left to a GPU with their commands; specs already stored) and stop")
    p.add_argument("--report", action="store_true",
                   help="afterwards, render the targets' notebooks from the same store (`zcpt report`)")
    p.add_argument("--report-dir", default="reports", metavar="DIR", help="where --report writes (default reports/)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=_reproduce)


def _reproduce(args: argparse.Namespace) -> int:
    from ..experiments.reproduce import default_store, format_plan, reproduce
    from ..runs.store import ResultStore

    store = ResultStore(args.results_dir) if args.results_dir else default_store(args.preset)
    threads = args.threads_per_worker
    if threads is None and args.scheduler is None:
        threads = args.threads  # `zcpt --threads T reproduce`: T torch threads per spec
    out = reproduce(args.targets or None, args.preset, store, executor=args.executor, scheduler=args.scheduler,
                    workers=args.workers, threads_per_worker=threads,
                    dashboard_address=args.dashboard_address, cluster=args.cluster, slurm_options=args.slurm_option,
                    max_jobs=args.max_jobs, seeds=args.seeds, only=args.only,
                    data_root=args.data_root, device=args.device, dry_run=args.dry_run, progress=not args.quiet,
                    report=args.report, report_dir=args.report_dir, report_options={"progress": not args.quiet})
    if args.dry_run:
        print(format_plan(out, store, _slots(args)))
        return 0
    if out.interrupted:
        return 130
    return 0 if out.ok and all(r.ok for r in out.reports) else 1


def _slots(args: argparse.Namespace):
    """Workers the run would have (for the dry run's total), when known without a cluster."""
    if args.executor == "serial":
        return 1
    if args.scheduler is not None:
        return None
    if args.cluster == "slurm":
        from ..runs.slurm import check_max_jobs

        return check_max_jobs(args.max_jobs)
    from ..runs.sweep import available_cores, cluster_size, visible_gpus

    threads = args.threads_per_worker if args.threads_per_worker is not None else args.threads
    return cluster_size(available_cores(), len(visible_gpus()), args.workers, threads)[0]
