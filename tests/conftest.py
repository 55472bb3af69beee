import os
from pathlib import Path

import pytest


def _shared_data() -> Path | None:
    env = os.environ.get("SIYU_SHARED_DATA")
    candidates = [Path(env)] if env else []
    here = Path(__file__).resolve().parents[1]
    candidates += [here.parent / "shared" / "data", here / ".." / "shared" / "data"]
    for c in candidates:
        if c.is_dir():
            return c
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The reference data folder (../shared/data); tests skip when it is absent."""
    path = _shared_data()
    if path is None:
        pytest.skip("../shared/data not available")
    return path
