"""The step-through widget in a real JupyterLab, driven by headless Chromium (Playwright).

A ``jupyter lab`` server is started on 127.0.0.1 with a random token, a temporary notebook folder
holding a copy of ``step_through.ipynb`` and temporary Jupyter config / settings / runtime
folders; it is bounded in time (``timeout``, and it shuts itself down once idle) and stopped at
the end. In a 1400x900 window the test opens the notebook, runs all cells, scrolls the widget to
the top and double-clicks ``next``: one decision is made (the status line goes from 0/6 to 1/6,
one decision computed), and the controls, the decision sentence, the cell diagram and the score
bars of that decision are all inside the window (element bounding boxes), without scrolling.
``run to end`` shows the recap table; the preset and proxy dropdowns rebuild the widget (the
status line names the change) and ``next`` then uses the new proxy. A notebook saved with the
widget's output, opened without running it, shows the widget's stand-in note (not the text of
the widget's repr). Screenshots of the window go to the test's tmp folder and, when
``ZCPT_SCREENSHOTS`` names a folder, there too; then the DARTS (S2) space is stepped through as
well (one ``next`` and ``run to end``, about two minutes on a shared CPU).

Needs the system Chromium at /usr/bin/chromium (Playwright's own browser download is never used);
skipped with that reason where it is absent.
"""
from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from zcpt_analysis.reports import notebooks_dir

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1400, "height": 900}
"""A laptop or projector screen: what a class sees."""
SERVER_LIMIT_S = 540
"""Hard bound on the server's life (``timeout``); it also shuts down after 120 s without activity."""

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs the system Chromium at /usr/bin/chromium "
                                 "(apt-get install chromium); Playwright's own browser download is not used"),
              pytest.mark.skipif(shutil.which("timeout") is None, reason="needs coreutils' timeout to bound the server")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_up(url: str, server: subprocess.Popen, log: Path, deadline_s: float = 90.0) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if server.poll() is not None:
            raise AssertionError(f"jupyter lab exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"jupyter lab did not answer within {deadline_s:.0f} s:\n{log.read_text()[-3000:]}")


def _write_saved_widget_notebook(path: Path) -> None:
    """A notebook as JupyterLab saves it after running the widget cell: the widget's output bundle,
    without a kernel behind it when the notebook is opened again."""
    import nbformat

    from zcpt_analysis.runs.specs import SearchSpec
    from zcpt_analysis.widgets import StepThroughWidget

    tiny = SearchSpec(supernet_options={"C": 4, "N": 1}, network_options={"C": 4, "N": 1}, batch_size=8, N=1, V=1,
                      device="cpu", data_source="sample")
    bundle = StepThroughWidget(make_config=lambda *a: tiny)._repr_mimebundle_()
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("widget = StepThroughWidget()\nwidget", execution_count=1)
    cell.outputs = [nbformat.v4.new_output("execute_result", data=bundle, execution_count=1)]
    nb.cells = [nbformat.v4.new_markdown_cell("# saved"), cell]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A running ``jupyter lab`` on 127.0.0.1 serving a copy of step_through.ipynb: (base url, token)."""
    root = tmp_path_factory.mktemp("jupyterlab")
    notebooks = root / "notebooks"
    notebooks.mkdir()
    shutil.copy(notebooks_dir() / "step_through.ipynb", notebooks / "step_through.ipynb")
    _write_saved_widget_notebook(notebooks / "saved_widget.ipynb")
    token, port = secrets.token_hex(16), _free_port()
    # a fresh JupyterLab asks which kernel to start; start the notebook's own, and fetch no news
    settings = root / "settings"
    for plugin, values in {"docmanager-extension/plugin": '{"autoStartDefaultKernel": true}',
                           "apputils-extension/notification": '{"fetchNews": "false"}'}.items():
        path = settings / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(values)
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(root / "config"), "JUPYTER_RUNTIME_DIR": str(root / "runtime"),
           "JUPYTERLAB_SETTINGS_DIR": str(settings), "JUPYTERLAB_WORKSPACES_DIR": str(root / "workspaces"),
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")])}
    cmd = ["timeout", "-k", "10", str(SERVER_LIMIT_S), sys.executable, "-m", "jupyter", "lab", "--no-browser",
           "--ip=127.0.0.1", f"--port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={notebooks}",
           "--ServerApp.shutdown_no_activity_timeout=120", "--MappingKernelManager.cull_idle_timeout=120",
           "--MappingKernelManager.cull_interval=30", "--LabApp.news_url=", "--LabApp.check_for_updates_class="
           "jupyterlab.NeverCheckForUpdate"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")  # jupyter lab refuses to run as root without it
    log = root / "server.log"
    with open(log, "w") as out:
        server = subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(f"{base}/api/status?token={token}", server, log)
        yield base, token, root
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


@pytest.fixture(scope="module")
def page(lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        page = browser.new_page(viewport=VIEWPORT)
        page.set_default_timeout(60_000)
        yield page
        browser.close()


def _status(page) -> str:
    return page.locator(".widget-html-content", has_text="edges discretized").first.inner_text()


def _wait_status(page, text: str, timeout_s: float = 90.0) -> str:
    end = time.monotonic() + timeout_s
    last = ""
    while time.monotonic() < end:
        loc = page.locator(".widget-html-content", has_text=text)
        if loc.count():
            return loc.first.inner_text()
        if page.locator(".widget-html-content", has_text="edges discretized").count():
            last = _status(page)
        page.wait_for_timeout(250)
    raise AssertionError(f"status never showed {text!r}; last status: {last!r}")


def _accept_kernel_dialog(page, wait_s: float = 8.0) -> None:
    """A fresh JupyterLab may ask which kernel to start: take the notebook's own (Python 3)."""
    dialog = page.locator(".jp-Dialog")
    end = time.monotonic() + wait_s
    while time.monotonic() < end:
        if dialog.count() and dialog.first.is_visible():
            dialog.locator("button", has_text="Select").first.click()
            return
        page.wait_for_timeout(250)


def _button(page, name: str):
    return page.locator("button.jupyter-button", has_text=name).first


def _screenshot(page, tmp_path: Path, name: str) -> None:
    """The whole 1400x900 window, as the class sees it."""
    page.screenshot(path=str(tmp_path / name))
    if os.environ.get("ZCPT_SCREENSHOTS"):
        folder = Path(os.environ["ZCPT_SCREENSHOTS"])
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp_path / name, folder / name)


def _in_window(page, selector: str) -> dict:
    """The element's bounding box, asserted to lie inside the window (no scrolling needed)."""
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not shown"
    assert box["x"] >= 0 and box["y"] >= 0, (selector, box)
    assert box["x"] + box["width"] <= VIEWPORT["width"] + 1 and box["y"] + box["height"] <= VIEWPORT["height"] + 1, \
        (selector, box)
    return box


def _select(page, description: str, value: str) -> None:
    page.locator(".zcpt-step-through .widget-dropdown", has_text=description).locator("select").select_option(value)


def _step_and_check_layout(page, tmp_path: Path, total: int, name: str) -> None:
    """Scroll the widget to the top, double-click next: one decision, everything of it in the window."""
    page.locator(".zcpt-step-through").first.evaluate("el => el.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(300)
    _button(page, "next").dblclick()
    status = _wait_status(page, f"1/{total} edges discretized", timeout_s=120)
    page.wait_for_timeout(2500)  # a second step would have started by now
    status = _status(page)
    assert status.startswith(f"1/{total} edges discretized") and "1 decision(s) computed" in status, status
    page.locator(".zcpt-scores .js-plotly-plot").first.wait_for()
    page.locator(".zcpt-cell .js-plotly-plot").first.wait_for()
    page.wait_for_timeout(500)
    for selector in ("button.jupyter-button:has-text('next')", ".zcpt-step-through .widget-dropdown:has-text('preset')",
                     ".zcpt-summary", ".zcpt-cell .js-plotly-plot", ".zcpt-scores .js-plotly-plot"):
        _in_window(page, selector)
    cell, bars = _in_window(page, ".zcpt-cell .js-plotly-plot"), _in_window(page, ".zcpt-scores .js-plotly-plot")
    assert bars["x"] >= cell["x"] + cell["width"] - 1  # side by side
    assert "Decision 1: edge" in page.locator(".zcpt-summary").first.inner_text()
    _screenshot(page, tmp_path, name)


def test_step_through_widget_in_jupyterlab(lab, page, tmp_path):
    base, token, _ = lab
    page.goto(f"{base}/lab/tree/step_through.ipynb?token={token}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
    _accept_kernel_dialog(page)
    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    page.locator("li.lm-Menu-item[data-command='runmenu:run-all']").click()
    status = _wait_status(page, "edges discretized", timeout_s=180)
    assert status.startswith("0/6 edges discretized") and "proxy nwot" in status and "smoke preset" in status
    # the static walk-through above it ran too (its plotly figures are drawn)
    assert page.locator(".jp-OutputArea .js-plotly-plot").count() >= 4
    _step_and_check_layout(page, tmp_path, 6, "widget_nb201_step1.png")
    # run to end: the recap of every decision, next to the bars
    _button(page, "run to end").click()
    _wait_status(page, "6/6 edges discretized", timeout_s=120)
    recap = page.locator(".zcpt-recap").first
    recap.wait_for()
    text = recap.inner_text()
    assert "Recap of the iteration" in text and "agreed with best-acc on" in text and "rank" in text
    assert text.count("\n") >= 7  # a header and six decisions
    _in_window(page, ".zcpt-recap")
    _screenshot(page, tmp_path, "widget_nb201_end.png")
    # the preset control rebuilds for the other preset (no step: the paper-sized supernet is slow)
    _select(page, "preset", "cpu")
    status = _wait_status(page, "rebuilt after the change (preset smoke -> cpu)", timeout_s=120)
    assert status.startswith("0/6 edges discretized") and "cpu preset" in status
    _select(page, "preset", "smoke")
    _wait_status(page, "rebuilt after the change (preset cpu -> smoke)", timeout_s=120)
    # changing a setting: the widget rebuilds for it, so `next` never runs the old setting
    _select(page, "proxy", "synflow")
    status = _wait_status(page, "rebuilt after the change (proxy nwot -> synflow)")
    assert status.startswith("0/6 edges discretized") and "proxy synflow" in status
    _button(page, "next").click()
    status = _wait_status(page, "1/6 edges discretized")
    assert "proxy synflow" in status
    assert "proxy **synflow**" not in page.locator(".zcpt-summary").first.inner_text()  # rendered, not raw
    assert "proxy synflow" in page.locator(".zcpt-summary").first.inner_text()  # the summary says so too
    assert (tmp_path / "widget_nb201_step1.png").stat().st_size > 10_000
    if os.environ.get("ZCPT_SCREENSHOTS"):  # the DARTS layout too (S2 keeps it to about two minutes)
        _select(page, "space", "darts-s2")
        _wait_status(page, "rebuilt after the change (space nb201 -> darts-s2)", timeout_s=120)
        _step_and_check_layout(page, tmp_path, 28, "widget_darts_step1.png")
        _button(page, "run to end").click()
        _wait_status(page, "28/28 edges discretized", timeout_s=300)
        page.locator(".zcpt-recap").first.wait_for()
        page.wait_for_timeout(800)
        _screenshot(page, tmp_path, "widget_darts_end.png")


def test_saved_widget_output_shows_its_stand_in_without_a_kernel(lab, page):
    base, token, _ = lab
    page.goto(f"{base}/lab/tree/saved_widget.ipynb?token={token}")
    page.wait_for_selector(".jp-Notebook .jp-OutputArea-output", timeout=90_000)
    _accept_kernel_dialog(page, wait_s=3)
    output = page.locator(".jp-OutputArea-output").first
    text = output.inner_text()
    assert "needs a running Jupyter kernel" in text and "--allow-root" in text
    assert "VBox(" not in text
