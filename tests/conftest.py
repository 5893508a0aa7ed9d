"""Suite-wide isolation."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True, scope="session")
def _isolated_user_config(tmp_path_factory):
    """Keyed built-ins create a user key file on first use (``$XDG_CONFIG_HOME/deidlang/key``);
    the tests must never write into the real home directory, and subprocesses inherit this."""
    saved = {k: os.environ.get(k) for k in ("XDG_CONFIG_HOME", "DEIDLANG_KEY", "DEIDLANG_KEY_FILE")}
    os.environ["XDG_CONFIG_HOME"] = str(tmp_path_factory.mktemp("xdg-config"))
    os.environ.pop("DEIDLANG_KEY", None)
    os.environ.pop("DEIDLANG_KEY_FILE", None)
    yield
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
