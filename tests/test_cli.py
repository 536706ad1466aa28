"""`nbdetect demo`'s bad arguments: one line from argparse, before any work is done."""

import pytest

from nbdetect import cli
from nbdetect.demo import run_demo

CASES = [  # (arguments, fragment of the one-line error)
    (["--steps", "0"], "--steps: got 0; expected a whole number >= 1"),
    (["--steps", "ten"], "--steps: got 'ten'; expected a whole number >= 1"),
    (["--batch-size", "0"], "--batch-size: got 0; expected a whole number >= 1"),
    (["--test-examples", "0"], "--test-examples: got 0; expected a whole number >= 1"),
    (["--train-examples", "-5"], "--train-examples: got -5"),
    (["--train-examples", "4", "--batch-size", "8"], "fewer than one batch"),
    (["--minutes", "0"], "--minutes: got 0; expected a number in (0, inf)"),
    (["--minutes", "nan"], "--minutes: got nan"),
    (["--display-threshold", "1.5"], "--display-threshold: got 1.5; expected a number in [0, 1]"),
    (["--seed", "-1"], "--seed: got -1; expected a whole number >= 0"),
]


@pytest.mark.parametrize(("arguments", "message"), CASES)
def test_bad_values_are_one_line_before_any_work(arguments, message, capsys, tmp_path):
    output = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["demo", "--output", str(output), *arguments])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("nbdetect demo: error:")
    assert not output.exists()  # nothing was started


def test_an_output_that_is_a_file_is_refused(capsys, tmp_path):
    output = tmp_path / "results.txt"
    output.write_text("keep me")
    with pytest.raises(SystemExit):
        cli.main(["demo", "--output", str(output)])
    assert "is a file; give a folder" in capsys.readouterr().err
    assert output.read_text() == "keep me"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"steps": 0}, "steps=0"),
        ({"batch_size": 0}, "batch_size=0"),
        ({"train_examples": 4, "batch_size": 8}, "train_examples=4; expected a whole number >= 8"),
        ({"test_examples": 0}, "test_examples=0"),
        ({"minutes": 0}, "minutes=0"),
    ],
)
def test_run_demo_checks_its_arguments_before_training(kwargs, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        run_demo(tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()
