"""Every dependency alias routers use is a coroutine: FastAPI runs a plain `def` dependency in
its thread pool, a hop per request that cost the send path several percent of its CPU (seen when
the per-service aliases were first written as plain functions)."""

import inspect
from typing import Annotated, Any, get_args, get_origin

from fastapi import params

from app.api import deps


def _is_coroutine(call: Any) -> bool:
    if inspect.iscoroutinefunction(call):
        return True
    return not inspect.isfunction(call) and inspect.iscoroutinefunction(type(call).__call__)


def test_every_dependency_alias_is_a_coroutine() -> None:
    aliases = {name: alias for name, alias in vars(deps).items() if get_origin(alias) is Annotated}
    assert {"MessageServiceDep", "CurrentUser", "ActorDep"} <= set(aliases)
    sync = [
        name
        for name, alias in aliases.items()
        for meta in get_args(alias)[1:]
        if isinstance(meta, params.Depends) and not _is_coroutine(meta.dependency)
    ]
    assert sync == []
