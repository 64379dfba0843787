"""The app `fastapi run`, `fastapi dev` and uvicorn (`app.main:app`) serve.

The only object built at import: its settings come from the environment (and `.env`). Tests and
tools build their own with `app.factory.create_app(settings)`.
"""

import multiprocessing
import sys

from app.core.config import SettingsError
from app.factory import create_app

# The status by which a worker tells uvicorn's supervisor (and gunicorn's) that it cannot start:
# the supervisor then stops, where after any other it would start the worker again, forever.
WORKER_CANNOT_START = 3

try:
    app = create_app()
except SettingsError as error:
    if multiprocessing.parent_process() is None:  # the server's only process: status 1
        raise
    print(error.code, file=sys.stderr)  # the same lines, once per worker
    raise SystemExit(WORKER_CANNOT_START) from None
