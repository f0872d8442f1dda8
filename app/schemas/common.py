"""Shared schema pieces: the error envelope and strict request base."""

from typing import Any

from pydantic import BaseModel, ConfigDict


class StrictRequest(BaseModel):
    """Request bodies reject unknown fields, so a typo is a clear 422 rather than silently lost."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class ErrorBody(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorResponse(BaseModel):
    error: ErrorBody
