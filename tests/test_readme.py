"""The README's Python snippets run as written (in order, sharing one namespace)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 4
    import matplotlib.pyplot as plt

    ns: dict = {}
    try:
        for block in blocks:
            exec(compile(block, str(README), "exec"), ns)
    finally:
        plt.close("all")
    assert ns["bg"].converged_ and ns["s"].attrs["unit"] == "W"
