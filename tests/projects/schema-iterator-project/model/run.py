from __future__ import annotations

from collections.abc import Iterator

import cog

from model.words import Blob, Word


def run(
    text: str = cog.Input(description="Text to split into words"),
    repeat: int = cog.Input(default=1, ge=1),
    meta: Blob | None = None,
    separators: list[str] | None = cog.Input(default=None, description="Extra separators"),
) -> Iterator[Word]:
    for _ in range(repeat):
        for word in text.split():
            yield word
