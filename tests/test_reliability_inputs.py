"""Values that parse but mean nothing (issue 25, class 3) and the Python API's wrong types (class 4).

Each case: a non-zero exit (CLI, in-process) or the project's error (API), no traceback, one line
of bounded length naming the bad value and what is valid -- and no work done first (the
``no_work`` sentinels of test_hardening fail a case that loads images, searches or runs a notebook).
"""
from __future__ import annotations

import pytest

import zcpt_analysis as zc
from cli_run import run_cli
from zcpt_analysis.errors import ZcptError


@pytest.fixture
def no_work(monkeypatch):
    """Every expensive entry point fails the test: a case must be rejected before any of them."""
    from zcpt_analysis import data, reports

    def forbidden(what):
        def fail(*args, **kwargs):
            raise AssertionError(f"{what} started before the bad value was rejected")
        return fail

    monkeypatch.setattr(data, "load_images", forbidden("image loading"))
    monkeypatch.setattr(reports, "execute_notebook", forbidden("a notebook"))
    from zcpt_analysis.runs import sweep

    monkeypatch.setattr(sweep, "local_cluster", forbidden("a Dask cluster"))
    monkeypatch.setattr(sweep, "run_serial", forbidden("a sweep"))




def assert_rejected(rc: int, text: str, *words: str, limit: int = 400) -> None:
    assert rc != 0, text
    assert "Traceback" not in text
    lines = [line for line in text.splitlines() if "error" in line]
    assert len(lines) == 1, text
    assert len(lines[0]) <= limit, lines[0][:500]
    for word in words:
        assert word in lines[0], (word, lines[0])


TINY = ["--supernet-option", "C=2", "--supernet-option", "N=1", "--network-option", "C=2", "--network-option", "N=1"]
P = "('sep_conv_3x3',0),('sep_conv_3x3',1)"
R = "('max_pool_3x3',0),('max_pool_3x3',1)"


def genotype(concat: str) -> str:
    return f"Genotype(normal=[{P},{P},{P},{P}], normal_concat={concat}, reduce=[{R},{R},{R},{R}], reduce_concat=[2,3])"


CASES = {
    # --only: values and keys no planned spec has
    "only-value": (["reproduce", "table2", "--only", "order=randm", "--dry-run"],
                   ["'randm'", "'random'", "'fixed'"]),
    "only-seed": (["reproduce", "table2", "--only", "seed=7", "--dry-run"], ["seed = '7'", "'0'"]),
    "only-kind": (["reproduce", "--only", "kind=zcpt-serch", "--dry-run"], ["'zcpt-serch'", "'zcpt-search'"]),
    # a repeated KEY=VALUE key
    "repeated-supernet-option": (["search", "--supernet-option", "C=8", "--supernet-option", "C=4", "--quiet"],
                                 ["C is given twice", "C=8", "C=4"]),
    "repeated-proxy-option": (["proxies", "score", "0", "--proxy", "swap", "-o", "repeats=2", "-o", "repeats=3"],
                              ["repeats is given twice"]),
    # seeds out of range, where specs are built
    "seed-2**64": (["search", "--seed", "18446744073709551616", *TINY], ["seed", "[0, 4294967295]",
                                                                         "18446744073709551616"]),
    "seed-negative": (["baseline", "random", "--seed", "-1"], ["seed", "[0, 4294967295]", "-1"]),
    "score-seed": (["baseline", "naswot", "--score-seed", "4294967296"], ["score_seed", "4294967296"]),
    "train-seed": (["train", "--genotype", "DARTS_V2", "--seed", "99999999999"], ["seed", "99999999999"]),
    "proxies-score-seed": (["proxies", "score", "0", "--seed", "18446744073709551616"], ["seed", "[0, 4294967295]"]),
    "reproduce-seeds": (["reproduce", "table2", "--seeds", "0", "18446744073709551616", "--dry-run"],
                        ["--seeds", "18446744073709551616", "[0, 4294967295]"]),
    # unbounded ranges: no "at least None"
    "repeats-infinity": (["proxies", "score", "0", "--proxy", "swap", "-o", "repeats=Infinity"],
                         ["repeats must be an integer", "inf"]),
    "repeats-nan": (["search", "--proxy", "swap", "--proxy-option", "repeats=NaN", *TINY], ["repeats", "nan"]),
    "chunk-infinity": (["proxies", "score", "0", "-o", "chunk_size=Infinity"], ["at least 1", "inf"]),
    # genotype strings: bounded messages naming what is valid
    "genotype-power": (["train", "--genotype", genotype("range(2, 10**8)")], ["'10 ** 8'", "range(a, b)"]),
    "genotype-huge-range": (["train", "--genotype", genotype("range(2,200000)")], ["199,998 node indices",
                                                                                  "range(2, 6)"]),
    "genotype-range-step-0": (["train", "--genotype", genotype("range(2,6,0)")], ["step 0"]),
    "genotype-range-text": (["train", "--genotype", genotype("range('a')")], ["takes integers"]),
    "genotype-call": (["train", "--genotype", genotype("__import__('os')")], ["unsupported expression"]),
    "genotype-node": (["train", "--genotype", genotype("[2,3,4,500]")], ["500", "0..5"]),
    "genotype-deep": (["train", "--genotype", "Genotype(" + "[" * 100_000], ["cannot parse", "100,011 characters"]),
    "genotype-long-name": (["train", "--genotype", "x" * 3_000_000], ["3,000,002 characters"]),
    # notebook parameters against their declared types, before any notebook runs
    "report-seeds-text": (["report", "-p", "seeds=abc"], ["seeds", "list of seeds", "'abc'"]),
    "report-seeds-int": (["report", "--notebooks", "search_orders", "-p", "seeds=0"], ["seeds", "search_orders"]),
    "report-N-zero": (["report", "-p", "N=0"], ["parameter N", "positive integer", "got 0"]),
    "report-compute-missing": (["report", "-p", "compute_missing=yes"], ["true, false or None", "'yes'"]),
    "report-orders-text": (["report", "-p", "orders=random"], ["list of names", "'random'"]),
    # executor settings
    "dashboard-address": (["reproduce", "table1", "--dashboard-address", "not-an-address"],
                          ["--dashboard-address", "HOST:PORT", "'not-an-address'"]),
    "dashboard-port": (["reproduce", "table1", "--dashboard-address", "127.0.0.1:99999"], ["0..65535"]),
    "scheduler-address": (["reproduce", "table1", "--scheduler", "foo:bar"], ["--scheduler", "'foo:bar'",
                                                                              "tcp://HOST:PORT"]),
    "workers-zero": (["reproduce", "table1", "--workers", "0"], ["--workers", "at least 1", "got 0"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_values_that_mean_nothing_are_one_clear_error(case, capsys, no_work, tmp_path, monkeypatch, shared_data):
    monkeypatch.setenv("ZCPT_DATA", str(shared_data))
    monkeypatch.chdir(tmp_path)
    argv, words = CASES[case]
    rc, text = run_cli(argv, capsys)
    assert_rejected(rc, text, *words)


# ----------------------------------------------------------------------------- class 4: the Python API
API_CASES = {
    "search-unknown-field": (lambda: zc.search(seeds=[0, 1]), ["'seeds'", "seed"]),
    "search-store-number": (lambda: zc.search(store=5, N=1), ["store", "folder path", "5"]),
    "plot-none": (lambda: zc.plot_figure2(None), ["score table", "NoneType"]),
    "plot-text": (lambda: zc.plot_figure2("best-acc"), ["DataFrame", "'best-acc'"]),
    "score-arch-bool": (lambda: zc.score_arch(True), ["architecture string", "index", "bool True"]),
    "score-arch-none": (lambda: zc.score_arch(None), ["NoneType"]),
    "score-arch-float": (lambda: zc.score_arch(1.5), ["float 1.5"]),
    "score-arch-proxy-list": (lambda: zc.score_arch(0, proxy=["nwot"]), ["proxy name", "['nwot']"]),
    "score-operations-int": (lambda: zc.score_operations(5), ["methods", "list of names", "int 5"]),
    "score-operations-empty": (lambda: zc.score_operations([]), ["methods", "non-empty"]),
    "score-operations-unknown": (lambda: zc.score_operations("best-acc-x"), ["'best-acc-x'", "zc-pt"]),
    "reproduce-unknown-name": (lambda: zc.reproduce("tableX", dry_run=True), ["'tableX'", "table2"]),
    "reproduce-int": (lambda: zc.reproduce(5, dry_run=True), ["targets", "int 5"]),
    "reproduce-option": (lambda: zc.reproduce(["table1"], dry_run=True, foo=1), ["'foo'", "seeds"]),
    "reproduce-seeds-text": (lambda: zc.reproduce(["table2"], seeds="01", dry_run=True), ["seeds", "'01'"]),
    "reproduce-preset": (lambda: zc.reproduce(["table1"], preset=3, dry_run=True), ["preset", "smoke"]),
    "store-number": (lambda: zc.ResultStore(5), ["folder path", "int 5"]),
    "benchmark-number": (lambda: zc.load_benchmark(5), ["path", "int 5"]),
}


@pytest.mark.parametrize("case", list(API_CASES))
def test_the_api_raises_the_projects_error_naming_the_value(case, no_work, tmp_path, monkeypatch, shared_data):
    monkeypatch.setenv("ZCPT_DATA", str(shared_data))
    monkeypatch.chdir(tmp_path)
    call, words = API_CASES[case]
    with pytest.raises(ZcptError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message and len(message) < 400, message
    for word in words:
        assert word in message, (word, message)
    assert zc.ZcptError is ZcptError


def test_a_store_path_that_is_a_file_is_an_error_not_an_empty_store(tmp_path, no_work):
    afile = tmp_path / "afile"
    afile.write_text("x")
    for call in (lambda: zc.ResultStore(afile).table(), lambda: zc.ResultStore(afile).records(),
                 lambda: zc.reproduce(["table1"], store=afile, dry_run=True)):
        with pytest.raises(ZcptError, match="is a file, not a folder"):
            call()


def test_a_single_name_is_a_one_element_list(tmp_path, monkeypatch, shared_data, no_work):
    monkeypatch.setenv("ZCPT_DATA", str(shared_data))
    one = zc.reproduce("table2", store=tmp_path, dry_run=True, only="order=random")
    listed = zc.reproduce(["table2"], store=tmp_path, dry_run=True, only=["order=random"])
    assert [e.spec for e in one] == [e.spec for e in listed] and len(one) >= 1
    assert all(e.spec.order == "random" for e in one)
