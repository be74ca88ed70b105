"""Save any figure of the toolkit as SVG, PDF or PNG at print resolution, with a caption naming the
preset and the key settings that made it -- offline.

* :func:`save_figure` (one figure) and :func:`save_figures` (many, one browser start): a plotly
  figure (every ``*_figure`` of :mod:`zcpt_analysis.viz`) or an SVG document (e.g.
  :func:`zcpt_analysis.viz.genotype_svg`); the format is the file's suffix.
* :func:`figure_caption`: the caption text (preset, a warning for the smoke preset, settings).
* :func:`export_notebook_figures`: every figure an executed notebook shows (``zcpt report --figures``).

The exporter is kaleido (>= 1), which drives a local Chrome/Chromium through the DevTools protocol:
the system's ``chromium`` (or ``$BROWSER_PATH``) is used, plotly.js comes from the installed plotly
package and MathJax is off, so nothing is downloaded. Without kaleido or a browser,
:func:`check_exporter` raises one :class:`FigureExportError` saying what to install.
"""
from __future__ import annotations

import base64
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence

from .errors import ZcptError

FORMATS: tuple[str, ...] = ("svg", "pdf", "png")
"""The file formats :func:`save_figure` writes (the path's suffix picks one)."""
PNG_SCALE = 4.0
"""PNG pixels per CSS pixel: a 700 px wide figure becomes 2,800 px (about 300 dpi at 9.3 inches)."""
BROWSERS: tuple[str, ...] = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
"""Browser executables looked up on ``PATH`` when ``$BROWSER_PATH`` is not set."""
SMOKE_WARNING = "smoke preset: tiny networks on a 400-image CIFAR-10 sample; not comparable with the paper's numbers"
CAPTION_FONT_PX = 11
CAPTION_CHARS_PER_LINE = 150


class FigureExportError(ZcptError):
    """A figure cannot be exported: no exporter installed, or a format that is not one of :data:`FORMATS`."""


def find_browser() -> Optional[str]:
    """The Chrome/Chromium kaleido will drive: ``$BROWSER_PATH``, else the first of :data:`BROWSERS`
    on ``PATH`` (None: none found)."""
    env = os.environ.get("BROWSER_PATH")
    if env:
        return env if Path(env).is_file() else None
    return next((path for path in map(shutil.which, BROWSERS) if path), None)


def check_exporter() -> str:
    """The browser path, after checking that kaleido >= 1 and a browser are there (else one
    :class:`FigureExportError` naming what to install); sets ``$BROWSER_PATH`` for kaleido."""
    try:
        import kaleido
    except ImportError as exc:
        raise FigureExportError("saving figures needs kaleido >= 1: pip install 'zcpt-analysis[export]' "
                                "(or pip install 'kaleido>=1'); it drives a local Chromium, nothing is downloaded") from exc
    version = getattr(kaleido, "__version__", "1")
    if int(str(version).split(".")[0]) < 1:
        raise FigureExportError(f"saving figures needs kaleido >= 1, found {version}: pip install -U 'kaleido>=1'")
    browser = find_browser()
    if browser is None:
        where = os.environ.get("BROWSER_PATH") or "PATH (" + ", ".join(BROWSERS) + ")"
        raise FigureExportError(f"saving figures needs a local Chrome or Chromium; none found in {where}. Install one "
                                "(e.g. apt-get install chromium) or set BROWSER_PATH to its executable")
    os.environ["BROWSER_PATH"] = browser
    return browser


def figure_caption(preset: Optional[str] = None, settings: Optional[Mapping[str, Any]] = None,
                   note: Optional[str] = None) -> str:
    """``"zcpt-analysis <version>; preset smoke (smoke preset: ... not comparable ...); proxy nwot,
    N 10; <note>"``: what an exported figure was made with."""
    from . import __version__

    parts = [f"zcpt-analysis {__version__}"]
    if preset:
        parts.append(f"preset {preset}" + (f" ({SMOKE_WARNING})" if preset == "smoke" else ""))
    if settings:
        parts.append(", ".join(f"{k} {v}" for k, v in settings.items() if v is not None))
    if note:
        parts.append(note)
    return "; ".join(parts)


def _wrap(text: str, width: int = CAPTION_CHARS_PER_LINE) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return lines + ([line] if line else [])


def _svg_size(svg: str) -> tuple[float, float]:
    sizes = []
    for key in ("width", "height"):
        m = re.search(rf'<svg[^>]*\s{key}="([0-9.]+)', svg)
        if not m:
            raise FigureExportError(f"the SVG document has no numeric {key} attribute on its <svg> element")
        sizes.append(float(m.group(1)))
    return sizes[0], sizes[1]


def svg_figure(svg: str, title: Optional[str] = None) -> Any:
    """A plotly figure showing an SVG document (e.g. :func:`zcpt_analysis.viz.genotype_svg`) at its
    own size, so it can be captioned and exported like every other figure."""
    import plotly.graph_objects as go

    width, height = _svg_size(svg)
    top = 40 if title else 10
    fig = go.Figure()
    fig.add_layout_image(source="data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode(),
                         xref="paper", yref="paper", x=0, y=1, sizex=1, sizey=1, xanchor="left", yanchor="top",
                         sizing="contain", layer="above")
    fig.update_layout(title=title, width=int(width) + 20, height=int(height) + top + 10, plot_bgcolor="white",
                      margin=dict(l=10, r=10, t=top, b=10), xaxis=dict(visible=False), yaxis=dict(visible=False))
    return fig


def with_caption(fig: Any, caption: str) -> Any:
    """A copy of plotly figure ``fig`` with ``caption`` written under it (wrapped, grey, left
    aligned); the figure grows by the caption's height, so the plot keeps its size."""
    import plotly.graph_objects as go

    out = go.Figure(fig)
    lines = _wrap(caption)
    if not lines:
        return out
    width = out.layout.width or 900
    height = out.layout.height or 500
    margin = out.layout.margin
    bottom = margin.b if margin.b is not None else 80
    # room below the plot for its x tick labels (rotated ones reach further down), then the caption
    ticks = 24 + (45 if any(ax.tickangle for ax in out.select_xaxes()) else 0)
    extra = (CAPTION_FONT_PX + 5) * len(lines) + ticks + 8
    out.update_layout(width=width, height=height + extra, margin=dict(b=bottom + extra))
    out.add_annotation(text="<br>".join(lines), xref="paper", yref="paper", x=0, y=0, xanchor="left", yanchor="top",
                       yshift=-(bottom + ticks), showarrow=False, align="left",
                       font=dict(size=CAPTION_FONT_PX, color="#444444"))
    return out


def _prepared(fig: Any, caption: Optional[str]) -> Any:
    import plotly.graph_objects as go

    if isinstance(fig, str):
        fig = svg_figure(fig)
    elif not isinstance(fig, go.Figure):
        raise FigureExportError(f"save_figure takes a plotly Figure or an SVG document (str), got {type(fig).__name__}")
    return with_caption(fig, caption) if caption else go.Figure(fig)


def _format_of(path: Path) -> str:
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise FigureExportError(f"cannot save {path.name!r}: the file name must end in one of "
                                + ", ".join(f".{f}" for f in FORMATS))
    return fmt


def save_figures(items: Sequence[tuple[Any, str | Path]], caption: Optional[str] = None, *,
                 preset: Optional[str] = None, settings: Optional[Mapping[str, Any]] = None,
                 scale: float = PNG_SCALE, timeout: float = 120.0) -> list[Path]:
    """Save each ``(figure, path)`` (a plotly figure or an SVG document; the path's suffix is the
    format: :data:`FORMATS`) with a caption under it: ``caption``, else :func:`figure_caption` of
    ``preset`` and ``settings`` (no caption when all three are None). Files are written whole
    (kaleido writes the bytes it rendered); folders are created. Returns the paths."""
    paths = [Path(p) for _, p in items]
    formats = [_format_of(p) for p in paths]  # every name checked before any work
    check_exporter()
    import kaleido

    if caption is None and (preset or settings):
        caption = figure_caption(preset, settings)
    jobs = []
    for (fig, _), path, fmt in zip(items, paths, formats):
        prepared = _prepared(fig, caption)
        path.parent.mkdir(parents=True, exist_ok=True)
        jobs.append({"fig": prepared, "path": path,
                     "opts": {"format": fmt, "width": prepared.layout.width or 900, "height": prepared.layout.height or 500,
                              "scale": scale if fmt == "png" else 1}})
    if not jobs:
        return []
    # plotly.js from the installed plotly package (kaleido's default), MathJax off: nothing from a CDN
    errors = kaleido.write_fig_from_object_sync(jobs, kopts={"mathjax": False, "timeout": timeout}, cancel_on_error=True)
    if errors:
        raise FigureExportError(f"kaleido could not render the figure(s): {errors[0]}")
    missing = [str(p) for p in paths if not p.is_file() or p.stat().st_size == 0]
    if missing:
        raise FigureExportError(f"kaleido wrote no file for {', '.join(missing)}")
    return paths


def save_figure(fig: Any, path: str | Path, caption: Optional[str] = None, *, preset: Optional[str] = None,
                settings: Optional[Mapping[str, Any]] = None, scale: float = PNG_SCALE) -> Path:
    """Save one figure (see :func:`save_figures`): ``save_figure(fig, "fig2.pdf", preset="smoke",
    settings={"proxy": "nwot"})``."""
    return save_figures([(fig, path)], caption, preset=preset, settings=settings, scale=scale)[0]


# ============================================================================= notebooks
def notebook_figures(ipynb: str | Path) -> list[tuple[str, Any]]:
    """The figures an executed notebook shows, in order: ``(title, figure)`` for every plotly output
    and every SVG drawing (as :func:`svg_figure`)."""
    import nbformat
    import plotly.graph_objects as go

    nb = nbformat.read(str(ipynb), as_version=4)
    out: list[tuple[str, Any]] = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "application/vnd.plotly.v1+json" in data:
                spec = data["application/vnd.plotly.v1+json"]
                spec = json.loads(spec) if isinstance(spec, str) else spec
                fig = go.Figure({"data": spec.get("data", []), "layout": spec.get("layout", {})})
                title = fig.layout.title.text or ""
                out.append((re.sub(r"<[^>]+>", " ", title), fig))
            elif "image/svg+xml" in data:
                svg = data["image/svg+xml"]
                out.append(("drawing", svg_figure("".join(svg) if isinstance(svg, list) else svg)))
    return out


def _slug(text: str, limit: int = 48) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit].strip("-") or "figure"


def export_notebook_figures(ipynb: str | Path, out_dir: str | Path, formats: Iterable[str] = ("svg", "pdf"),
                            preset: Optional[str] = None, settings: Optional[Mapping[str, Any]] = None) -> list[Path]:
    """Save every figure of an executed notebook into ``out_dir`` as ``NN-<title>.<format>``, each
    captioned with the notebook's name, the preset and ``settings`` (e.g. its parameters)."""
    formats = list(formats)
    for fmt in formats:
        _format_of(Path(f"x.{fmt}"))
    name = Path(ipynb).stem
    items = [(fig, Path(out_dir) / f"{k:02d}-{_slug(title)}.{fmt}")
             for k, (title, fig) in enumerate(notebook_figures(ipynb), 1) for fmt in formats]
    caption = figure_caption(preset, settings, note=f"notebook {name}")
    return save_figures(items, caption) if items else []
