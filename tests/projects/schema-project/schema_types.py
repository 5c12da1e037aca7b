"""Types the predictor imports from another file of the project."""

from typing import Optional

from cog import BaseModel, Path

# A type alias and a constant, used by predict.py.
Count = int
DEFAULT_PREFIX = "hello"


class Base(BaseModel):
    text: str


class Greeting(Base):
    count: int
    score: float
    words: list[str]
    files: list[Path]
    note: Optional[str]
    ok: bool
