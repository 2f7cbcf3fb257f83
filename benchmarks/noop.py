"""The bare django-q2 task of the benchmark: nothing but the queue's own cost."""


def noop() -> None:
    return None
