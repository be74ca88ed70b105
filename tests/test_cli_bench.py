"""`zcpt bench` from the command line (in-process)."""
from zcpt_analysis.cli import main

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


def test_help_lists_subcommands(capsys):
    try:
        main(["--help"])
    except SystemExit as exit_:
        assert exit_.code == 0
    assert "bench" in capsys.readouterr().out


def test_query_and_top(capsys, shared_data):
    bench = str(shared_data / "nb201")
    assert main(["bench", "query", BEST, "--dataset", "cifar10", "--bench", bench]) == 0
    out = capsys.readouterr().out
    assert "index  6111" in out and "error 5.63%" in out and "rank 1/15,625" in out
    assert main(["bench", "query", "1462", "--bench", bench]) == 0
    assert "rank 166/15,625" in capsys.readouterr().out
    assert main(["bench", "top", "--dataset", "cifar10", "-k", "2", "--bench", bench]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and "6111" in lines[0]


def test_errors_are_one_clear_line(capsys, tmp_path, shared_data):
    assert main(["bench", "query", "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|",
                 "--bench", str(shared_data / "nb201")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("zcpt: error: unknown op 'conv'") and err.count("\n") == 1
    assert main(["bench", "query", BEST, "--dataset", "cifar1000", "--bench", str(shared_data / "nb201")]) == 2
    assert "valid benchmark datasets" in capsys.readouterr().err
    assert main(["bench", "top", "--bench", str(tmp_path / "nope")]) == 2
    assert "zcpt bench convert" in capsys.readouterr().err


def test_random_baseline_writes_records_into_the_out_folder(capsys, tmp_path, shared_data):
    import json

    assert main(["baseline", "random", "--runs", "3", "--seed", "1", "--bench", str(shared_data / "nb201"),
                 "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.count("C10 error") == 3 and "paper: 13.39" in out
    record = json.loads((tmp_path / "random-n3-s1.json").read_text())
    assert record["kind"] == "random-baseline" and [p["seed"] for p in record["picks"]] == [1, 2, 3]
    assert all(p["benchmark"]["cifar10"]["rank"] >= 1 for p in record["picks"])


def test_writing_a_result_over_a_folder_is_a_clear_error(tmp_path):
    import pytest

    from zcpt_analysis.files import OutputLocationError, atomic_write_json

    with pytest.raises(OutputLocationError, match="existing folder"):
        atomic_write_json(tmp_path, {"a": 1})
    assert list(tmp_path.iterdir()) == []
