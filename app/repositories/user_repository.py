"""Queries on `users`."""

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import User


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(self, user_id: str, username: str, user_role: str) -> User:
        user = User(user_id=user_id, username=username, user_role=user_role)
        self.session.add(user)
        await self.session.flush()
        return user

    async def get_by_id(self, user_id: str) -> User | None:
        result = await self.session.execute(select(User).where(User.user_id == user_id))
        return result.scalar_one_or_none()

    async def get_many(self, user_ids: Iterable[str]) -> dict[str, User]:
        ids = list(set(user_ids))
        if not ids:
            return {}
        result = await self.session.execute(select(User).where(User.user_id.in_(ids)))
        return {user.user_id: user for user in result.scalars()}

    async def update(self, user: User) -> User:
        await self.session.flush()
        return user
