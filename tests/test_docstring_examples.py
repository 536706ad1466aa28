"""The `>>>` examples in nbdetect's docstrings run, and print what they show.

One test per module that has examples. Each example runs on its own namespace (nothing from
the module it documents is in scope), so an example imports what it uses, as a user who
copies it into a notebook would. An example that needs the internet (weights, presets, a
download) is marked ``# doctest: +SKIP`` in its docstring and says so.
"""

import doctest
import importlib
import io
import os
import pkgutil
from pathlib import Path

import pytest

# As tests/conftest.py: before anything imports Keras or TensorFlow.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import nbdetect  # noqa: E402

OPTIONFLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _modules_with_examples(path, prefix):
    """Names of the modules under `path` whose source has a `>>>` line, without importing them."""
    names = []
    for info in pkgutil.iter_modules([str(path)], prefix):
        leaf = info.name.rpartition(".")[2]
        if info.ispkg:
            names.extend(_modules_with_examples(Path(path, leaf), info.name + "."))
            source = Path(path, leaf, "__init__.py")
        else:
            source = Path(path, leaf + ".py")
        if source.is_file() and ">>>" in source.read_text(encoding="utf-8"):
            names.append(info.name)
    return sorted(names)


MODULES = _modules_with_examples(Path(nbdetect.__file__).parent, "nbdetect.")


def test_examples_are_found():
    # The finder itself: a change to the walk that found nothing would pass every test below.
    assert "nbdetect.bounding_box.converters" in MODULES
    assert len(MODULES) > 40


def run_examples(module):
    """Run the docstring examples of `module`: (attempted, skipped, failed, report)."""
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=OPTIONFLAGS)
    report = io.StringIO()
    skipped = 0
    for test in finder.find(module, module.__name__, globs={}):
        skipped += sum(1 for example in test.examples if example.options.get(doctest.SKIP, False))
        runner.run(test, out=report.write, clear_globs=True)
    return runner.tries, skipped, runner.failures, report.getvalue()


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    attempted, skipped, failed, report = run_examples(module)
    assert attempted + skipped, f"{name} has `>>>` lines but no docstring example"
    if not attempted:
        pytest.skip(f"the {skipped} examples in {name} need the internet")
    if failed:
        pytest.fail(f"{failed} of {attempted} examples in {name} failed:\n{report}", False)


def test_a_wrong_output_fails():
    # The runner really compares: an example that shows the wrong output is a failure.
    module = type(nbdetect)("nbdetect_doctest_probe")
    module.__doc__ = """
    >>> import numpy as np
    >>> int(np.add(1, 1))
    3
    """
    attempted, skipped, failed, report = run_examples(module)
    assert (attempted, skipped, failed) == (2, 0, 1)
    assert "Expected:\n    3\nGot:\n    2" in report
