from fastapi import APIRouter

from app.api.v1 import auth, health, items, users

api_router = APIRouter(prefix="/api/v1")
# Routes are matched in order: probes come first, as they are the most frequent requests.
api_router.include_router(health.router)
api_router.include_router(auth.router)
api_router.include_router(users.router)
api_router.include_router(items.router)
