"""Execute every notebook in ``notebooks/`` and check that they are committed clean.

Each notebook ends with a cell of ``assert`` statements that compares its headline
numbers with independent values (published parameters, plain-pandas recounts,
hand-checkable identities), so executing it is a test.  The kernel inherits this
process's environment: run with ``PYTHONPATH=<worktree>`` to test a source tree
instead of the installed package.  Plots use matplotlib's Agg backend.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]
NB_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NB_DIR.glob("*.ipynb"))
IDS = [p.stem for p in NOTEBOOKS]


def _read(path: Path):
    return nbformat.read(path, as_version=4)


def test_notebooks_found():
    assert NOTEBOOKS, f"no notebooks found in {NB_DIR}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_is_clean(path):
    """Committed without outputs or execution counts, and ending in an assert cell."""
    nb = _read(path)
    dirty = [i for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, (f"{path.name}: cells {dirty} have outputs or execution counts; clear "
                       "them before committing (e.g. jupyter nbconvert --clear-output --inplace)")
    last = nb.cells[-1] if nb.cells else None
    assert last is not None and last.cell_type == "code" and "assert" in last.source, (
        f"{path.name}: the last cell must be a code cell asserting the headline numbers")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_runs(path, monkeypatch):
    """Execute the notebook top to bottom; a failing cell fails the test with its error."""
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = _read(path)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(NB_DIR)}})
    error = None
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as exc:
        error = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))     # drop the traceback's colour codes
    if error is not None:
        pytest.fail(f"{path.name} failed:\n{error}", pytrace=False)
    # every cell ran (no silent early stop)
    counts = [c.get("execution_count") for c in nb.cells
              if c.cell_type == "code" and c.source.strip()]
    assert all(n is not None for n in counts), f"{path.name}: some cells did not run"
