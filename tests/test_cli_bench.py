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
