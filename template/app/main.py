"""The app `fastapi run`, `fastapi dev` and uvicorn (`app.main:app`) serve.

The only object built at import: its settings come from the environment (and `.env`). Tests and
tools build their own with `app.factory.create_app(settings)`.
"""

from app.factory import create_app

app = create_app()
