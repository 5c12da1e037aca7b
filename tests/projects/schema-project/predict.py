from typing import List, Optional

from cog import BasePredictor, Input, Path, Secret

import schema_types
from schema_types import DEFAULT_PREFIX, Count, Greeting


class Predictor(BasePredictor):
    def setup(self) -> None:
        self.prefix = DEFAULT_PREFIX

    def predict(
        self,
        name: str = Input(description="Who to greet", min_length=1, max_length=40, regex="^[a-z ]+$"),
        count: Count = Input(description="How many times", ge=1, le=10, default=3),
        temperature: float = Input(default=0.75, ge=0.0, le=2.0),
        scale: float = 1,
        loud: bool = False,
        style: str = Input(description="A style", choices=["plain", "fancy", "shouty"], default="plain"),
        level: int = Input(choices=[1, 2, 3], default=2),
        image: Optional[Path] = Input(description="An optional file", default=None),
        token: Optional[Secret] = Input(description="An optional secret"),
        tags: list[str] = Input(description="Tags", default=["a", "b"]),
        numbers: Optional[List[int]] = None,
        extra: Optional[dict] = None,
        size_or_name: int | str = Input(default=1),
        legacy: str = Input(default="old", deprecated=True),
        prefix: str = schema_types.DEFAULT_PREFIX,
    ) -> Greeting:
        text = f"{prefix} {name}"
        if loud:
            text = text.upper()
        return Greeting(
            text=text,
            count=count,
            score=temperature * scale,
            words=text.split() * count,
            files=[],
            note=style,
            ok=True,
        )
