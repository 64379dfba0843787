from fastapi import APIRouter

from app.api.v1 import auth, health, items, users

api_router = APIRouter()  # mounted at API_PREFIX by create_app
api_router.include_router(auth.router)
api_router.include_router(users.router)
api_router.include_router(items.router)
api_router.include_router(health.router)
