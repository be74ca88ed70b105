"""``zcpt report``: execute the notebooks with papermill and render offline HTML reports + index."""
from __future__ import annotations

import argparse
from pathlib import Path

from . import command_help


def register(sub: argparse._SubParsersAction) -> None:
    from ..experiments import PRESETS

    p = sub.add_parser("report", help=command_help("report"),
                       description="Execute every notebook in notebooks/ (or --notebooks NAME ...) with papermill "
                                   "under a preset, save the executed notebooks and their HTML into --out (one "
                                   "plotly.min.js there serves every page: the folder works offline), and write "
                                   "--out/index.html linking them with the run date, parameters and library "
                                   "versions. A failing notebook is reported with its cell error and does not stop "
                                   "the others (exit status 1 if any failed); the kernels' routine log lines are "
                                   "not echoed.")
    p.add_argument("--preset", default="smoke", choices=PRESETS,
                   help="smoke: CPU, shared CIFAR-10 sample, tiny networks (minutes); cpu: the paper's network "
                        "sizes with CPU budgets, reading results from results_dir (default runs/cpu; `zcpt reproduce "
                        "--preset cpu` computes them); paper: the paper's configuration, reading GPU results from "
                        "results_dir (default runs/paper) (default smoke)")
    p.add_argument("--notebooks", nargs="+", default=None, metavar="NAME",
                   help="only these notebooks (names without .ipynb; default: all, in the paper's order)")
    p.add_argument("--out", default="reports", help="output folder (default reports/)")
    p.add_argument("--param", "-p", action="append", default=None, metavar="NAME=VALUE",
                   help="extra notebook parameter (JSON values, e.g. -p results_dir=runs/paper -p 'seeds=[0,1]'); "
                        "passed to the notebooks that declare it")
    p.add_argument("--results-dir", default=None,
                   help="shortcut for -p results_dir=DIR (the results store the notebooks read; default runs/cpu "
                        "for the cpu preset, runs/paper for the paper preset)")
    p.add_argument("--data-root", default=None, help="shortcut for -p data_root=DIR (full dataset folder)")
    p.add_argument("--notebooks-dir", default=None,
                   help="folder of the notebooks (default: $ZCPT_NOTEBOOKS, else the source checkout's notebooks/, "
                        "else ./notebooks)")
    p.add_argument("--kernel", default="python3", help="Jupyter kernel name (default python3)")
    p.add_argument("--timeout", type=int, default=None, help="per-cell execution timeout in seconds (default none)")
    p.add_argument("--list", action="store_true", help="list the notebooks and their parameters, run nothing")
    p.add_argument("--log-output", action="store_true",
                   help="echo the notebooks' own output (e.g. progress of long paper-preset computations)")
    p.add_argument("--quiet", action="store_true", help="no per-cell progress bars")
    p.add_argument("--figures", nargs="+", default=None, metavar="FORMAT", choices=("svg", "pdf", "png"),
                   help="also save every figure of the executed notebooks as FORMAT (svg, pdf, png; print "
                        "resolution) into --out/figures/NOTEBOOK/, each captioned with the notebook, preset and "
                        "parameters; needs kaleido>=1 and a local Chromium (offline; see README 'Exporting figures')")
    p.set_defaults(func=_report)


def _report(args: argparse.Namespace) -> int:
    from ..reports import list_notebooks, notebook_parameters, notebooks_dir, parse_parameters, run_reports

    folder = Path(args.notebooks_dir) if args.notebooks_dir else notebooks_dir()
    if args.list:
        for name in list_notebooks(folder):
            params = notebook_parameters(folder / f"{name}.ipynb")
            print(f"{name}: " + ", ".join(f"{k}={v}" for k, v in params.items()))
        return 0
    params = parse_parameters(args.param)
    for key in ("results_dir", "data_root"):
        if getattr(args, key) is not None:
            params[key] = getattr(args, key)
    if args.figures:
        from ..figure_export import check_exporter

        check_exporter()  # a missing exporter is said before the notebooks run
    runs = run_reports(args.notebooks, preset=args.preset, out_dir=args.out, parameters=params, folder=folder,
                       kernel=args.kernel, progress=not args.quiet, timeout=args.timeout, log_output=args.log_output)
    if args.figures:
        _export_figures(runs, Path(args.out), args.figures, args.preset, params)
    return 0 if all(r.ok for r in runs) else 1


def _export_figures(runs: list, out: Path, formats: list[str], preset: str, params: dict) -> None:
    """Every figure of each executed notebook into ``out/figures/<notebook>/`` (captioned)."""
    from ..figure_export import export_notebook_figures

    for run in runs:
        if run.ok and run.ipynb:
            saved = export_notebook_figures(run.ipynb, out / "figures" / run.name, formats, preset=preset,
                                            settings=params)
            print(f"{run.name}: {len(saved)} figure file(s) in {out / 'figures' / run.name}")
