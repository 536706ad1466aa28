"""The notebooks under notebooks/ as committed: runnable anywhere, clean, and kept visible.

CI executes every notebook in a Binder-like and a Colab-like environment and in a real
browser (`tools/run_notebooks.py`, `tools/browser_check.py`); here, what can be checked
from the files, and notebook 01 run top to bottom (it needs no model).
"""

import json
import pathlib
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

NOTEBOOKS = sorted((pathlib.Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))


def code_cells(path):
    notebook = json.loads(path.read_text())
    return notebook, ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]


def test_there_are_the_six_notebooks():
    assert [p.name[:3] for p in NOTEBOOKS] == ["01_", "02_", "03_", "04_", "05_", "06_"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_committed_clean(path):
    notebook = json.loads(path.read_text())
    assert "widgets" not in notebook["metadata"], "commit notebooks without widget state"
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            assert not cell["outputs"], f"{path.name}: commit notebooks without outputs"
            assert cell["execution_count"] is None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_the_first_cell_installs_nbdetect_the_same_way_everywhere(path):
    _, cells = code_cells(path)
    first = cells[0]
    _, reference = code_cells(NOTEBOOKS[0])
    assert first == reference[0]
    assert 'find_spec("nbdetect") is None' in first  # only where it is not importable
    assert 'glob.glob("nbdetect-*.whl")' in first and '"nbdetect"' in first  # wheel, or PyPI
    assert "import nbdetect" not in first


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_run_all_leaves_the_widgets_open(path):
    _, cells = code_cells(path)
    for source in cells:
        executed = [line for line in source.splitlines() if not line.lstrip().startswith("#")]
        assert not any(re.search(r"\.close\(\)", line) for line in executed), source


def test_notebook_01_runs(tmp_path, monkeypatch):
    path = NOTEBOOKS[0]
    _, cells = code_cells(path)
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__main__"}
    for source in cells:
        exec(compile(source, path.name, "exec"), namespace)
    # Each gallery call made a figure and closed it (shown inline in Jupyter).
    assert plt.get_fignums() == []
