"""The rendered reports in a real browser (headless Chromium through Playwright's Python package):
the index links the reports, plotly figures render (``.main-svg``), nothing fails in the console,
and nothing is fetched from the network. Screenshots are saved in the test's tmp folder.

Needs the system Chromium at /usr/bin/chromium (no browser download); skipped only when it is absent.
"""
from __future__ import annotations

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs the system Chromium at /usr/bin/chromium "
                                 "(apt-get install chromium); Playwright's own browser download is not used")]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """``zcpt report``'s work for one notebook, rendered into a temporary folder."""
    from zcpt_analysis.reports import run_reports

    out = tmp_path_factory.mktemp("reports")
    runs = run_reports(["step_through"], "smoke", out, progress=False, log=lambda line: None)
    assert [r.status for r in runs] == ["ok"], runs[0].error
    return out


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield b
        b.close()


def _open(browser, url: str):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    external: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))

    def route(r):
        if r.request.url.startswith(("file:", "data:", "about:", "blob:")):
            r.continue_()
        else:  # the reports must work offline: record and block any network request
            external.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.goto(url)
    page.wait_for_load_state("load")
    return page, problems, external


def test_index_and_report_render_plotly_without_errors(rendered, browser, tmp_path):
    page, problems, external = _open(browser, (rendered / "index.html").as_uri())
    assert "Zero-Cost-PT reproduction: reports" in page.title() + page.inner_text("h1")
    row = page.locator("#reports tbody tr")
    assert row.count() == 1 and "ok" in row.first.inner_text()
    assert "torch" in page.inner_text("#versions") and "smoke" in page.inner_text("#parameters")
    page.screenshot(path=str(tmp_path / "index.png"), full_page=True)
    page.locator("#reports a", has_text="Step through").first.click()
    page.wait_for_load_state("load")
    assert page.url.endswith("step_through.html")
    page.wait_for_selector(".main-svg", timeout=20_000)
    figures = page.locator(".js-plotly-plot")
    assert figures.count() >= 4  # cell diagrams and score bars of the walk-through
    assert page.locator(".main-svg").count() >= figures.count()
    # the cell diagram drew its edges and the bar charts their bars
    assert page.locator(".js-plotly-plot .scatterlayer .trace").count() > 0
    assert page.locator(".js-plotly-plot .barlayer .trace").count() > 0
    assert "Selected architecture" in page.inner_text("body")
    page.screenshot(path=str(tmp_path / "step_through.png"), full_page=True)
    assert (tmp_path / "step_through.png").stat().st_size > 10_000
    assert problems == [], problems
    assert external == [], f"reports fetched from the network: {external}"
    page.close()
