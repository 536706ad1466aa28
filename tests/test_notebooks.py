"""The notebooks under notebooks/ run top to bottom (code cells executed in order)."""

import json
import pathlib

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

NOTEBOOKS = sorted((pathlib.Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_and_has_no_outputs(path, tmp_path, monkeypatch):
    notebook = json.loads(path.read_text())
    assert "widgets" not in notebook["metadata"], "commit notebooks without widget state"
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__main__"}
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code":
            continue
        assert not cell["outputs"], f"{path.name}: commit notebooks without outputs"
        exec(compile("".join(cell["source"]), f"{path.name}", "exec"), namespace)
    # Each gallery call made a figure and closed it (shown inline in Jupyter).
    assert plt.get_fignums() == []
