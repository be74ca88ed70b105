"""The rendered reports of ``zcpt report`` (the session's ``smoke_report``) in a real browser
(headless Chromium through Playwright's Python package): the index links the reports, every
page draws its plotly figures (plotly.js loaded once from the report folder), nothing fails in
the console, nothing is fetched from the network, wide tables fit a 1400 px window, "mean ± std"
cells stay on one line, and the step-through widget shows its stand-in. Screenshots are saved in
the test's tmp folder.

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
def rendered(smoke_report):
    out, console, summary = smoke_report
    assert summary.get("failed") == 0, console[-3000:]
    return out


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield b
        b.close()


def _open(browser, url: str):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
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
    rows = page.locator("#reports tbody tr")
    assert rows.count() == 11 and all("ok" in rows.nth(i).inner_text() for i in range(rows.count()))
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
    # no kernel here: the widget's stand-in says so (it was a blank cell)
    assert page.get_by_text("needs a running Jupyter kernel").first.is_visible()
    page.screenshot(path=str(tmp_path / "step_through.png"), full_page=True)
    assert (tmp_path / "step_through.png").stat().st_size > 10_000
    assert problems == [], problems
    assert external == [], f"reports fetched from the network: {external}"
    page.close()


def test_every_report_draws_its_figures_and_fits_the_window(rendered, browser, tmp_path):
    for html in sorted(rendered.glob("*.html")):
        if html.name == "index.html":
            continue
        page, problems, external = _open(browser, html.as_uri())
        outputs = page.locator(".jp-OutputArea-output .plotly-graph-div")
        page.wait_for_selector(".main-svg", timeout=20_000)
        page.wait_for_timeout(300)
        drawn = page.locator(".js-plotly-plot .main-svg").count()
        assert outputs.count() > 0 and drawn >= outputs.count(), f"{html.name}: {drawn} of {outputs.count()} drawn"
        # wide tables scroll inside their own box: the page never needs horizontal scrolling at 1400 px
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 1400, f"{html.name} is {width} px wide"
        # "13.39 ± 13.28" stays on one line
        heights = page.evaluate("Array.from(document.querySelectorAll('td')).filter(td => td.innerText.includes('±'))"
                                ".map(td => td.getBoundingClientRect().height)")
        assert all(h < 30 for h in heights), f"{html.name}: a mean ± std cell wraps ({max(heights):.0f} px)"
        assert "NaN" not in page.inner_text("body"), f"{html.name} shows NaN"
        if html.stem == "operation_scores":
            page.screenshot(path=str(tmp_path / "operation_scores.png"), full_page=True)
        assert problems == [], f"{html.name}: {problems}"
        assert external == [], f"{html.name} fetched from the network: {external}"
        page.close()
