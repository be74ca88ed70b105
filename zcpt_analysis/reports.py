"""Execute the notebooks with papermill and render them as offline HTML reports with an index.

``zcpt report`` (:mod:`zcpt_analysis.cli.report`) calls :func:`run_reports`: every notebook of
``notebooks/`` (or a chosen subset) is executed with papermill under a preset (``smoke`` /
``paper``) and optional extra parameters, saved executed (``<name>.ipynb``) and rendered to
``<name>.html`` with nbconvert, and ``index.html`` links them with the run date, the parameters and
the library versions. A notebook that fails is still rendered (its error cell shows the
traceback), is reported with its cell error -- on the console and in the index -- and does not stop
the others.

HTML works offline and stays small: plotly.js is written once per report folder
(:data:`PLOTLY_JS`) and loaded by every page through the template used here
(:data:`OFFLINE_TEMPLATE`), which also drops nbconvert's require.js, MathJax and widget-manager
scripts (they would be fetched from CDNs); the notebooks themselves hold only their figures' data.
Widgets render as their static placeholder (the interactive step-through needs a kernel).

The kernels' own log chatter on stderr (ipykernel's "running over TCP without encryption" warning,
and "KeyboardInterrupt caught in kernel", from the interrupt jupyter_client sends every kernel
before shutting it down) is dropped (:data:`KERNEL_CHATTER`); anything else a kernel writes to
stderr -- a crash, a C-level error -- still reaches the console, and failing cells are reported.
"""
from __future__ import annotations

import datetime as _dt
import functools
import html
import json
import re
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence

from .errors import UnknownNameError, ZcptError
from .files import atomic_write_json, atomic_write_text

NOTEBOOK_ORDER: tuple[str, ...] = (
    "operation_scores", "iteration0_selection", "iterative_scores", "search_orders", "search_vs_validation",
    "proxies", "nb201_sota", "darts_space", "darts_subspaces", "imagenet", "step_through")
"""The notebooks in reading order (the paper's order); others found in the folder follow, sorted."""

DEFAULT_KERNEL = "python3"
OFFLINE_TEMPLATE_NAME = "zcpt_offline.html.j2"
PLOTLY_JS = "plotly.min.js"
"""plotly.js, written once into each report folder and loaded by every report page."""
OFFLINE_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}
<script type="text/javascript">window.PlotlyConfig = {MathJaxConfig: 'local'};</script>
<script type="text/javascript" src="{{ resources.plotly_js }}"></script>
{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
"""
"""nbconvert's JupyterLab template loading plotly.js from the report folder, without the scripts it
loads from CDNs (require.js, MathJax, the widget manager): the reports render without network access."""
KERNEL_CHATTER: tuple[str, ...] = ("Kernel is running over TCP without encryption", "KeyboardInterrupt caught in kernel")
"""Kernel stderr lines that are expected and say nothing about the notebook (see the module docstring)."""

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _write_public(path: str | Path, text: str) -> Path:
    """Atomic write, then world-readable permissions (a report folder is meant to be served)."""
    out = atomic_write_text(path, text)
    out.chmod(0o644)
    return out


NOTEBOOKS_ENV_VAR = "ZCPT_NOTEBOOKS"


def notebooks_dir() -> Path:
    """The notebooks: ``$ZCPT_NOTEBOOKS``, else ``notebooks/`` of the source checkout the package
    was installed from (editable installs), else ``./notebooks``."""
    import os

    if os.environ.get(NOTEBOOKS_ENV_VAR):
        return Path(os.environ[NOTEBOOKS_ENV_VAR]).expanduser()
    checkout = Path(__file__).resolve().parents[1] / "notebooks"
    if checkout.is_dir() and any(checkout.glob("*.ipynb")):
        return checkout
    return Path.cwd() / "notebooks"


def list_notebooks(folder: str | Path | None = None) -> list[str]:
    """Notebook names (without ``.ipynb``) in ``folder``, in :data:`NOTEBOOK_ORDER` first."""
    folder = Path(folder) if folder is not None else notebooks_dir()
    found = sorted(p.stem for p in folder.glob("*.ipynb") if not p.name.startswith("."))
    return [n for n in NOTEBOOK_ORDER if n in found] + [n for n in found if n not in NOTEBOOK_ORDER]


def notebook_title(path: str | Path) -> str:
    """The first Markdown heading of a notebook (its file stem if it has none)."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return Path(path).stem


def notebook_parameters(path: str | Path) -> dict[str, Any]:
    """The parameters a notebook declares in its cell tagged ``parameters`` (name -> default text)."""
    import papermill as pm

    return {name: p["default"] for name, p in pm.inspect_notebook(str(path)).items()}


@dataclass
class NotebookRun:
    """The outcome of executing and rendering one notebook."""

    name: str
    title: str
    status: str  # "ok" or "failed"
    seconds: float
    parameters: dict[str, Any]
    ignored_parameters: list[str] = field(default_factory=list)
    ipynb: Optional[str] = None
    html: Optional[str] = None
    error: Optional[dict[str, Any]] = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _error_info(exc: BaseException) -> dict[str, Any]:
    """Cell index, exception name, value and the traceback's last lines, from a papermill error."""
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        tb = _ANSI.sub("", "\n".join(exc.traceback or []))
        return {"cell": exc.cell_index, "execution_count": exc.exec_count, "ename": exc.ename,
                "evalue": _ANSI.sub("", str(exc.evalue)), "traceback": tb[-4000:]}
    return {"cell": None, "execution_count": None, "ename": type(exc).__name__, "evalue": str(exc),
            "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))[-4000:]}


def write_plotly_js(folder: str | Path) -> Path:
    """``folder/plotly.min.js`` (:data:`PLOTLY_JS`): the plotly.js of the installed plotly, written
    once per report folder (again only when the installed version differs)."""
    from plotly.offline import get_plotlyjs

    path = Path(folder) / PLOTLY_JS
    script = get_plotlyjs()
    if not path.exists() or path.stat().st_size != len(script.encode()):
        _write_public(path, script)
    return path


def render_html(ipynb: str | Path, out: str | Path) -> Path:
    """Render an executed notebook to an HTML file that needs no network access: it loads plotly.js
    from :data:`PLOTLY_JS` beside it (written there if missing), and widgets show their static
    placeholder (their saved state is not rendered: without a kernel they could not work)."""
    import jinja2
    import nbformat
    from nbconvert import HTMLExporter

    out = Path(out)
    nb = nbformat.read(str(ipynb), as_version=4)
    nb.metadata.pop("widgets", None)
    exporter = HTMLExporter(template_name="lab", template_file=OFFLINE_TEMPLATE_NAME,
                            extra_loaders=[jinja2.DictLoader({OFFLINE_TEMPLATE_NAME: OFFLINE_TEMPLATE})])
    resources = {"plotly_js": PLOTLY_JS, "metadata": {"name": Path(ipynb).stem, "path": str(Path(ipynb).parent)}}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    write_plotly_js(out.parent)
    return _write_public(out, body)


def _forward_stderr(fd: int, sink: Any = None) -> None:
    """Copy a kernel's stderr (pipe ``fd``) line by line to ``sink`` (default ``sys.stderr``),
    without the :data:`KERNEL_CHATTER` lines."""
    with open(fd, "r", encoding="utf-8", errors="replace") as stream:
        for line in stream:
            if not any(pattern in line for pattern in KERNEL_CHATTER):
                out = sink or sys.stderr
                out.write(line)
                out.flush()


@functools.lru_cache(maxsize=None)
def quiet_kernel_manager() -> type:
    """jupyter_client's ``AsyncKernelManager`` with the kernel's stderr piped through
    :func:`_forward_stderr` (the launch hook jupyter_client documents for subclasses)."""
    import os
    import threading

    from jupyter_client.manager import AsyncKernelManager

    class QuietKernelManager(AsyncKernelManager):
        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            read_fd, write_fd = os.pipe()
            try:
                await super()._async_launch_kernel(kernel_cmd, **{**kw, "stderr": write_fd})
            except BaseException:
                os.close(read_fd)
                raise
            finally:
                os.close(write_fd)
            threading.Thread(target=_forward_stderr, args=(read_fd,), daemon=True, name="kernel-stderr").start()

    return QuietKernelManager


def execute_notebook(name: str, out_dir: str | Path, parameters: Mapping[str, Any], *,
                     folder: str | Path | None = None, kernel: str = DEFAULT_KERNEL, progress: bool = True,
                     timeout: Optional[int] = None, render: bool = True, log_output: bool = False) -> NotebookRun:
    """Execute notebook ``name`` with papermill (only the ``parameters`` it declares are injected;
    the others are listed in ``ignored_parameters``), save it executed into ``out_dir`` and render
    its HTML there. ``progress`` shows papermill's per-cell progress bar; ``log_output`` also echoes
    the notebook's own output (e.g. the library's progress bars in long ``paper`` runs) to the
    console. Never raises for a failing notebook: the run's ``status`` is ``failed`` and ``error``
    holds the failing cell's index, exception and traceback."""
    import papermill as pm

    folder = Path(folder) if folder is not None else notebooks_dir()
    src = folder / f"{name}.ipynb"
    if not src.exists():
        raise UnknownNameError("notebook", name, list_notebooks(folder))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    declared = notebook_parameters(src)
    used = {k: v for k, v in parameters.items() if k in declared}
    ignored = sorted(k for k in parameters if k not in declared)
    ipynb, page = out_dir / f"{name}.ipynb", out_dir / f"{name}.html"
    run = NotebookRun(name, notebook_title(src), "ok", 0.0, used, ignored, str(ipynb), None)
    started = time.perf_counter()
    try:
        pm.execute_notebook(str(src), str(ipynb), parameters=used, kernel_name=kernel, progress_bar=progress,
                            log_output=log_output, cwd=str(Path.cwd()), execution_timeout=timeout,
                            request_save_on_cell_execute=log_output, kernel_manager_class=quiet_kernel_manager())
    except Exception as exc:  # noqa: BLE001 - any failure is reported, the other notebooks still run
        run.status, run.error = "failed", _error_info(exc)
    run.seconds = round(time.perf_counter() - started, 2)
    if render and ipynb.exists():
        try:
            run.html = str(render_html(ipynb, page))
        except Exception as exc:  # noqa: BLE001
            run.status = "failed"
            run.error = run.error or {**_error_info(exc), "ename": f"HTML rendering: {type(exc).__name__}"}
    return run


def run_reports(names: Optional[Sequence[str]] = None, preset: str = "smoke", out_dir: str | Path = "reports",
                parameters: Optional[Mapping[str, Any]] = None, *, folder: str | Path | None = None,
                kernel: str = DEFAULT_KERNEL, progress: bool = True, timeout: Optional[int] = None,
                log_output: bool = False, log: Callable[[str], None] = print) -> list[NotebookRun]:
    """Execute and render ``names`` (default: every notebook) under ``preset`` into ``out_dir``,
    then write ``index.html`` and ``run.json`` there. Returns one :class:`NotebookRun` per notebook."""
    from .experiments import check_preset

    check_preset(preset)
    folder = Path(folder) if folder is not None else notebooks_dir()
    available = list_notebooks(folder)
    if not available:
        raise ZcptError(f"no notebooks (*.ipynb) in {folder}")
    names = list(names) if names else available
    for n in names:
        if n not in available:
            raise UnknownNameError("notebook", n, available)
    out = Path(out_dir)
    if not out.is_absolute():
        out = Path.cwd() / out
    params = {"preset": preset, **dict(parameters or {})}
    check_parameters(params, names, folder)
    started_at = _dt.datetime.now().astimezone()
    t0 = time.perf_counter()
    runs: list[NotebookRun] = []
    for k, name in enumerate(names, 1):
        log(f"[{k}/{len(names)}] {name}: executing (preset {preset}) ...")
        run = execute_notebook(name, out, params, folder=folder, kernel=kernel, progress=progress, timeout=timeout,
                               log_output=log_output)
        runs.append(run)
        if run.ok:
            log(f"[{k}/{len(names)}] {name}: ok in {run.seconds:.1f} s -> {run.html}")
        else:
            e = run.error or {}
            log(f"[{k}/{len(names)}] {name}: FAILED in {run.seconds:.1f} s at cell {e.get('cell')}: "
                f"{e.get('ename')}: {e.get('evalue')}")
        if run.ignored_parameters:
            log(f"    (parameters not declared by {name}, not passed: {', '.join(run.ignored_parameters)})")
    total = round(time.perf_counter() - t0, 2)
    write_index(runs, out, preset, params, started_at, total)
    failed = [r.name for r in runs if not r.ok]
    log(f"{len(runs) - len(failed)}/{len(runs)} notebook(s) ok in {total:.1f} s; index: {out / 'index.html'}"
        + (f"; failed: {', '.join(failed)}" if failed else ""))
    return runs


def check_parameters(parameters: Mapping[str, Any], names: Sequence[str], folder: str | Path) -> None:
    """Check ``parameters`` against the types of the parameters notebooks ``names`` declare
    (:data:`~zcpt_analysis.experiments.notebook.PARAMETER_TYPES`), before any notebook runs."""
    from .experiments.notebook import check_parameter

    declared_by: dict[str, list[str]] = {}
    for name in names:
        for key in notebook_parameters(Path(folder) / f"{name}.ipynb"):
            declared_by.setdefault(key, []).append(name)
    for key, value in parameters.items():
        if key in declared_by:
            users = declared_by[key]
            more = f" and {len(users) - 3} more" if len(users) > 3 else ""
            check_parameter(key, value, ", ".join(users[:3]) + more)


def index_info(runs: Sequence[NotebookRun], preset: str, parameters: Mapping[str, Any], started: _dt.datetime,
               seconds: float) -> dict[str, Any]:
    """The content of the index (and ``run.json``): date, preset, parameters, versions, runs."""
    from .environment import versions

    return {"kind": "zcpt-report", "started": started.isoformat(timespec="seconds"), "seconds": seconds,
            "preset": preset, "parameters": dict(parameters), "versions": versions(),
            "command": " ".join(sys.argv) if sys.argv else "",
            "notebooks": [asdict(r) for r in runs],
            "ok": sum(r.ok for r in runs), "failed": sum(not r.ok for r in runs)}


def write_index(runs: Sequence[NotebookRun], out_dir: str | Path, preset: str, parameters: Mapping[str, Any],
                started: _dt.datetime, seconds: float) -> Path:
    """Write ``index.html`` (links, status, errors, parameters, versions) and ``run.json``."""
    out_dir = Path(out_dir)
    info = index_info(runs, preset, parameters, started, seconds)
    atomic_write_json(out_dir / "run.json", info)
    (out_dir / "run.json").chmod(0o644)
    esc = html.escape
    rows = []
    for r in runs:
        link = f'<a href="{esc(Path(r.html).name)}">{esc(r.title)}</a>' if r.html else esc(r.title)
        nb = f'<a href="{esc(Path(r.ipynb).name)}">ipynb</a>' if r.ipynb and Path(r.ipynb).exists() else "-"
        status = '<span class="ok">ok</span>' if r.ok else '<span class="failed">failed</span>'
        err = ""
        if r.error:
            e = r.error
            where = f"cell {e['cell']}" if e.get("cell") is not None else "before execution"
            err = (f"<details><summary>{esc(where)}: <code>{esc(str(e.get('ename')))}: "
                   f"{esc(str(e.get('evalue'))[:300])}</code></summary><pre>{esc(str(e.get('traceback', '')))}</pre>"
                   "</details>")
        params = ", ".join(f"{esc(k)}={esc(json.dumps(v, default=str))}" for k, v in r.parameters.items())
        rows.append(f"<tr><td>{link}<div class='name'>{esc(r.name)}</div></td><td>{status}</td>"
                    f"<td class='num'>{r.seconds:.1f}</td><td>{nb}</td><td class='params'>{params}</td><td>{err}</td></tr>")
    version_rows = "".join(f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in info["versions"].items())
    param_rows = "".join(f"<tr><td>{esc(k)}</td><td><code>{esc(json.dumps(v, default=str))}</code></td></tr>"
                         for k, v in info["parameters"].items())
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>zcpt-analysis reports ({esc(preset)})</title>
<style>
body {{ font-family: sans-serif; margin: 2em; max-width: 1200px; color: #222; }}
table {{ border-collapse: collapse; margin-bottom: 1.5em; }}
th, td {{ border: 1px solid #ccc; padding: 0.35em 0.6em; text-align: left; vertical-align: top; }}
th {{ background: #f3f3f3; }} td.num {{ text-align: right; }} td.params {{ font-size: 0.85em; }}
.name {{ color: #777; font-size: 0.8em; }} .ok {{ color: #2ca02c; font-weight: bold; }}
.failed {{ color: #d62728; font-weight: bold; }} pre {{ white-space: pre-wrap; font-size: 0.8em; max-width: 600px; }}
</style></head><body>
<h1>Zero-Cost-PT reproduction: reports</h1>
<p>Run started {esc(info['started'])}, preset <b>{esc(preset)}</b>, {info['ok']} ok / {info['failed']} failed,
{seconds:.1f} s in total. Each report puts the paper's published numbers (columns labelled "paper") next to the
numbers measured by this toolkit; <code>smoke</code> runs use tiny networks and say nothing about the paper's numbers.</p>
<table id="reports"><thead><tr><th>report</th><th>status</th><th>seconds</th><th>executed notebook</th>
<th>parameters</th><th>error</th></tr></thead><tbody>
{''.join(rows)}
</tbody></table>
<h2>Parameters</h2><table id="parameters"><tbody>{param_rows}</tbody></table>
<h2>Library versions</h2><table id="versions"><tbody>{version_rows}</tbody></table>
<p>Machine-readable summary: <a href="run.json">run.json</a>.</p>
</body></html>
"""
    return _write_public(out_dir / "index.html", page)


def parse_parameters(items: Optional[Sequence[str]]) -> dict[str, Any]:
    """``["seeds=[0, 1]", "data_root=/data"]`` -> ``{"seeds": [0, 1], "data_root": "/data"}``
    (values parsed as JSON when possible, else kept as strings)."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = str(item).partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise ZcptError(f"a notebook parameter must look like NAME=VALUE with a Python name, got {item!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out
