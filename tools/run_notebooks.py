"""Execute the notebooks as Jupyter does, export them to HTML, and check what a reader sees.

For each notebook under `notebooks/` (or the ones named):

1. execute it top to bottom in a Jupyter kernel (`nbclient`, which stores the widget state
   in the notebook as `jupyter nbconvert --execute` does);
2. check that no cell raised and that every widget output is followed by its static
   picture (a PNG output), since nothing drew the widget;
3. convert the executed notebook to HTML with nbconvert's default settings and check that
   each of those pictures is in the page as an `<img>` (an offline reader sees it: the
   widget view itself needs JavaScript from a CDN and a kernel).

Executed notebooks and their HTML go to `--output`. This is how CI runs the notebooks in
the Binder and Colab simulations (`.ci/run`):

    python tools/run_notebooks.py --output /tmp/notebooks

Exits 1 when a notebook fails or a check does not hold.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
VIEW_MIME = "application/vnd.jupyter.widget-view+json"
STATE_MIME = "application/vnd.jupyter.widget-state+json"


def widget_pictures(notebook) -> tuple[int, list[str]]:
    """The number of widget outputs, and the base64 PNG that follows each one.

    A widget output without a picture after it contributes an empty string.
    """
    count, pictures = 0, []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        outputs = cell.get("outputs", [])
        for index, output in enumerate(outputs):
            if VIEW_MIME not in output.get("data", {}):
                continue
            count += 1
            following = outputs[index + 1] if index + 1 < len(outputs) else {}
            pictures.append(following.get("data", {}).get("image/png", ""))
    return count, pictures


def check_notebook(path: pathlib.Path, output: pathlib.Path, timeout: int) -> list[str]:
    """Execute, export and check one notebook; return the failed checks."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    from nbconvert import HTMLExporter

    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(output)}},
    )
    start = time.perf_counter()
    failures = []
    try:
        client.execute()
    except CellExecutionError as error:
        failures.append(f"{path.name}: a cell raised:\n{str(error)[-3000:]}")
    seconds = time.perf_counter() - start
    executed = output / path.name
    nbformat.write(notebook, executed)

    count, pictures = widget_pictures(notebook)
    html, _ = HTMLExporter().from_notebook_node(notebook)
    (output / path.with_suffix(".html").name).write_text(html)
    stored = STATE_MIME in notebook.metadata.get("widgets", {})
    print(
        f"{path.name}: ran in {seconds:.0f} s; {count} widget outputs; "
        f"widget state stored: {stored}; HTML {len(html) // 1024} KiB"
    )
    for number, picture in enumerate(pictures, 1):
        if not picture:
            failures.append(f"{path.name}: widget output {number} has no picture after it")
        elif f"data:image/png;base64,{picture[:200]}" not in html.replace("\n", ""):
            failures.append(f"{path.name}: widget output {number}'s picture is not in the HTML")
    return failures


def main() -> int:
    """Run the checks; the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="notebook files (default: notebooks/*)")
    parser.add_argument("--output", default="executed_notebooks", help="folder for the results")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    args = parser.parse_args()
    paths = [pathlib.Path(p) for p in args.notebooks] or sorted(
        (ROOT / "notebooks").glob("*.ipynb")
    )
    output = pathlib.Path(args.output).resolve()
    output.mkdir(parents=True, exist_ok=True)
    failures = []
    for path in paths:
        failures += check_notebook(path.resolve(), output, args.timeout)
    for failure in failures:
        print(f"FAILED: {failure}")
    print(f"executed notebooks and HTML in {output}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
