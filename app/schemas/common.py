"""Shared schema pieces: the strict request base, identifier types, the error envelope."""

from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, model_validator

ID_PATTERN = r"^[A-Za-z0-9_\-]{1,64}$"
"""What our identifiers look like (`user_…`, `group_…`, `msg_…`); anything else is a 422."""

IdPath = Annotated[str, Path(pattern=ID_PATTERN)]
GroupIdQuery = Annotated[str, Query(pattern=ID_PATTERN)]


def _reject_nul(value: Any) -> None:
    """PostgreSQL text cannot hold U+0000; refuse it up front rather than fail on write."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("text must not contain the NUL character (U+0000)")
    elif isinstance(value, dict):
        for key, item in value.items():
            _reject_nul(key)
            _reject_nul(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _reject_nul(item)


class StrictRequest(BaseModel):
    """Request bodies reject unknown fields, so a typo is a clear 422 rather than silently lost,
    and text containing NUL."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        _reject_nul(data)
        return data


class ErrorBody(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorResponse(BaseModel):
    error: ErrorBody
