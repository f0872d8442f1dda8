"""Queries on `users`."""

from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.models import User, UserRole


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(
        self,
        user_id: str,
        username: str,
        user_role: str,
        *,
        login: str | None = None,
        password_hash: str | None = None,
    ) -> User:
        user = User(
            user_id=user_id,
            username=username,
            user_role=user_role,
            login=login,
            password_hash=password_hash,
        )
        self.session.add(user)
        await self.session.flush()
        return user

    async def get_by_id(self, user_id: str) -> User | None:
        result = await self.session.execute(select(User).where(User.user_id == user_id))
        return result.scalar_one_or_none()

    async def get_by_login(self, login: str) -> User | None:
        result = await self.session.execute(select(User).where(User.login == login))
        return result.scalar_one_or_none()

    async def login_taken(self, login: str) -> bool:
        result = await self.session.execute(select(User.id).where(User.login == login))
        return result.first() is not None

    async def any_doctor(self) -> bool:
        result = await self.session.execute(
            select(User.id).where(User.user_role == UserRole.DOCTOR).limit(1)
        )
        return result.first() is not None

    async def set_password_hash(self, user_id: str, password_hash: str) -> None:
        await self.session.execute(
            update(User)
            .where(User.user_id == user_id)
            .values(password_hash=password_hash, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )

    async def get_many(self, user_ids: Iterable[str]) -> dict[str, User]:
        ids = list(set(user_ids))
        if not ids:
            return {}
        result = await self.session.execute(select(User).where(User.user_id.in_(ids)))
        return {user.user_id: user for user in result.scalars()}

    async def update(self, user: User) -> User:
        await self.session.flush()
        return user
