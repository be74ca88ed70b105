"""``zcpt`` in-process for the tests that check what a command says and how it exits."""
from __future__ import annotations

from zcpt_analysis.cli import main


def run_cli(argv, capsys) -> tuple[int, str]:
    """``zcpt ARGV`` in-process: (exit status, stdout + stderr); an escaping exception fails the test."""
    try:
        rc = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse usage errors
        rc = exc.code
    out, err = capsys.readouterr()
    return int(rc or 0), out + err
