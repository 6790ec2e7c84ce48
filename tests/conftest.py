"""Shared fixtures: the real data folder beside the project, and fresh stores."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Real public data, kept beside the project (never copied into it).
SHARED_DATA = ROOT.parent / "shared" / "data"


def shared_file(*parts: str) -> Path:
    """A file of ../shared/data, or skip the test with the reason."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not available: {path} is missing (../shared sits beside the repo)")
    return path


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    """A store file that does not exist yet."""
    return tmp_path / "estate.gpkg"
