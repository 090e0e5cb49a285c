"""Shared fixtures.

External validators (poppler, qpdf, zbar, pyhanko-cli) are tools we did not
write; tests that need one skip on a developer machine without it, but fail
under CI (CI=true), where a missing tool means a broken install step.
"""
from __future__ import annotations

import os
import shutil

import pytest


def need_tool(name: str) -> str:
    path = shutil.which(name)
    if path:
        return path
    message = f"external tool {name!r} is not installed"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " (required under CI)")
    pytest.skip(message)
