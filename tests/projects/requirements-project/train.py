def train(n: int) -> int:
    return n
