"""Reading the read models from any server process.

With several server processes on one store only the elected one keeps the
read models in memory (`ProjectionRunner`); the others, and the elected one
while it is still loading them, answer from the documents as stored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from rescue.projections.models import ReadModels
from rescue.projections.runner import ProjectionRunner
from rescue.projections.storage import ViewStore

T = TypeVar("T")


def computed(
    runner: ProjectionRunner, db: str, names: Sequence[str], compute: Callable[[ReadModels], T]
) -> tuple[int, T]:
    """`compute` over the read models at one log position, and that position.

    In memory it runs under the runner's lock: the documents change in place
    while the runner applies events, and an answer must not mix two positions.
    The runner waits meanwhile, so `compute` is a scan in memory, no I/O.
    """
    with runner.lock:
        models = runner.models
        if models is not None:
            return models.position, compute(models)
    stored = stored_models(db, names)
    return stored.position, compute(stored)


def stored_models(db: str, names: Sequence[str]) -> ReadModels:
    """The named models as the process that runs the read models last stored them."""
    store = ViewStore(db)
    try:
        models = ReadModels()
        for model, key, doc in store.load_models_named(names):
            models.load(model, key, doc)
        models.position = store.position()
        return models
    finally:
        store.close()
