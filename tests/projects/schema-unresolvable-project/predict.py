from cog import BasePredictor, Input
from torch import Tensor


class Predictor(BasePredictor):
    def predict(
        self,
        prompt: str = Input(description="A prompt"),
        weights: Tensor = Input(description="Not a type Cog can serve"),
    ) -> str:
        return prompt
