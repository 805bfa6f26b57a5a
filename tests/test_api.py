"""The public namespace an analyst reads: ``import estates as es``."""

from __future__ import annotations

from importlib.metadata import version

import estates as es


def test_version_comes_from_the_installed_package() -> None:
    assert es.__version__ == version("estates")


def test_every_exported_name_exists() -> None:
    missing = [name for name in es.__all__ if not hasattr(es, name)]
    assert missing == []
