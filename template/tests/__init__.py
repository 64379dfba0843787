"""The suite runs on the settings conftest.py gives it, and on nothing else.

This package is imported before its conftest.py, so here every setting the caller's shell
exports is dropped and the developer's `.env` is not read: `cp .env.example .env` (or an
`export LOG_LEVEL=DEBUG`) changes nothing in a test run.
"""

import os

from app.core.config import Settings

for _name in Settings.model_fields:
    os.environ.pop(_name, None)
Settings.model_config["env_file"] = None
