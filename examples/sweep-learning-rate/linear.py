def step(xs, ys, w, b, lr):
    """One epoch of gradient descent on the mean squared error."""
    n = len(xs)
    gw = sum((w * x + b - y) * x for x, y in zip(xs, ys)) * 2 / n
    gb = sum((w * x + b - y) for x, y in zip(xs, ys)) * 2 / n
    return w - lr * gw, b - lr * gb


def mse(xs, ys, w, b):
    return sum((w * x + b - y) ** 2 for x, y in zip(xs, ys)) / len(xs)
