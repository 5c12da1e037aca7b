from typing import Annotated

from cog import Opaque

Word = str
Blob = Annotated[dict, Opaque]
