"""Saving figures (zcpt_analysis.figure_export): Figure 2 of real NAS-Bench-201 oracle scores and a
cell diagram saved as SVG and PDF through kaleido and the system Chromium, opened again and checked
(non-empty, the caption text in them); bad names and a missing exporter give one clear error."""
from __future__ import annotations

import importlib.util
import io
import re

import pytest

import zcpt_analysis as zc
from zcpt_analysis import viz
from zcpt_analysis.figure_export import (FigureExportError, check_exporter, export_notebook_figures, figure_caption,
                                         find_browser, save_figure, save_figures, with_caption)
from zcpt_analysis.spaces.genotypes import GENOTYPES
from zcpt_analysis.spaces.nb201 import EDGES

needs_exporter = pytest.mark.skipif(importlib.util.find_spec("kaleido") is None or find_browser() is None,
                                    reason="needs kaleido>=1 (the export extra) and a local Chromium")


def _pdf_text(path) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(path.read_bytes()))
    return " ".join(page.extract_text() for page in reader.pages)


def _svg_text(path) -> str:
    """The text of an SVG file (plotly splits a caption into <tspan>s per line)."""
    return re.sub(r"\s+", " ", " ".join(re.findall(r">([^<>]+)<", path.read_text())))


@needs_exporter
def test_figure2_and_cell_diagrams_saved_as_svg_and_pdf_with_their_caption(tmp_path):
    table = zc.score_operations(["best-acc", "avg-acc"], store=tmp_path / "store")
    figure2 = zc.plot_figure2(table)
    chosen = ["nor_conv_3x3", None, "skip_connect", None, None, None]
    cell = viz.supernet_cell_figure(viz.supernet_cell_info(EDGES, chosen, current=2), title="NB201 cell")
    genotype = viz.genotype_svg(GENOTYPES["DARTS_V2"])
    settings = {"methods": "best-acc, avg-acc", "benchmark": "NAS-Bench-201"}
    items = [(fig, tmp_path / "out" / f"{name}.{fmt}") for name, fig in
             [("figure2", figure2), ("cell", cell), ("genotype", genotype)] for fmt in ("svg", "pdf")]
    paths = save_figures(items, preset="smoke", settings=settings)
    caption = figure_caption("smoke", settings)
    assert "preset smoke" in caption and "not comparable with the paper" in caption and "benchmark NAS-Bench-201" in caption
    for path in paths:
        assert path.stat().st_size > 2_000, path
        text = _pdf_text(path) if path.suffix == ".pdf" else _svg_text(path)
        flat = re.sub(r"\s+", " ", text)
        assert "preset smoke" in flat and "benchmark NAS-Bench-201" in flat, (path, flat[-400:])
    assert "best-acc" in _pdf_text(tmp_path / "out" / "figure2.pdf")  # the heatmap itself is there too
    assert "skip_connect" in _svg_text(tmp_path / "out" / "cell.svg")
    assert "sep_conv_3x3" in _pdf_text(tmp_path / "out" / "genotype.pdf")  # the SVG drawing stays vector text
    # PNG at print resolution: 4 pixels per CSS pixel
    png = save_figure(figure2, tmp_path / "figure2.png", caption="Figure 2, smoke preset")
    from PIL import Image

    with Image.open(png) as im:
        assert im.size[0] == 4 * with_caption(figure2, "Figure 2, smoke preset").layout.width


def test_bad_names_and_a_missing_exporter_are_one_clear_error(tmp_path, monkeypatch):
    import pandas as pd

    fig = viz.heatmap_figure(pd.DataFrame([[1.0]], index=["a"], columns=["a"]))
    with pytest.raises(FigureExportError, match=r"must end in one of \.svg, \.pdf, \.png"):
        save_figure(fig, tmp_path / "figure.jpg")
    monkeypatch.setenv("BROWSER_PATH", str(tmp_path / "no-such-chromium"))
    with pytest.raises(FigureExportError, match="Chrome or Chromium.*BROWSER_PATH"):
        check_exporter()
    with pytest.raises(FigureExportError):
        save_figure(fig, tmp_path / "figure.svg")
    assert not (tmp_path / "figure.svg").exists()


@needs_exporter
def test_report_figures_of_an_executed_notebook_are_saved_with_its_caption(tmp_path):
    """What `zcpt report --figures` does with each executed notebook: every plotly output and SVG drawing."""
    import nbformat

    import pandas as pd

    fig = viz.heatmap_figure(pd.DataFrame([[1.0, 0.5]], index=["a"], columns=["a", "b"]), title="Figure 2: <b>rho</b>")
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("show()")
    cell.outputs = [nbformat.v4.new_output("display_data", data=viz.figure_bundle(fig)),
                    nbformat.v4.new_output("display_data", data={"image/svg+xml": viz.genotype_svg(GENOTYPES["DARTS_V2"]),
                                                                 "text/plain": "genotype"})]
    nb.cells = [cell]
    path = tmp_path / "op_scores.ipynb"
    nbformat.write(nb, str(path))
    saved = export_notebook_figures(path, tmp_path / "figures", ["svg"], preset="paper", settings={"seed": 0})
    assert [p.name for p in saved] == ["01-figure-2-rho.svg", "02-drawing.svg"]
    for p in saved:
        text = _svg_text(p)
        assert "notebook op_scores" in text and "preset paper" in text and "seed 0" in text
    with pytest.raises(FigureExportError, match="must end in one of"):
        export_notebook_figures(path, tmp_path / "figures", ["jpeg"])
