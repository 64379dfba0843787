from datetime import datetime

from pydantic import BaseModel, ConfigDict


class SessionPublic(BaseModel):
    """A signed-in device, as its owner sees it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    created_at: datetime
    last_used_at: datetime
    user_agent: str | None
    client: str | None  # the client's network (an IPv4 /24, an IPv6 /48), never its address
    current: bool  # the session of the access token making the request
