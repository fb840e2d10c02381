"""Early stopping on a validation score: the one rule the training loop (``train.fit``) and the
ALS models (``models.rme``) share. Its own module so that a model can use it without
importing the training loop (models declare; the loop trains them)."""

from __future__ import annotations

import copy
import math

import torch


class EarlyStopping:
    """Keep the best state by a validation score; say when to stop.

    ``update(score, model)`` after each epoch (or ALS sweep) returns True when training
    should stop: ``patience`` updates in a row without a strictly better score (``None``:
    never stop early). ``restore(model)`` loads the best state back. The one early-stopping
    rule of the library (the training loop and the ALS models use it)."""

    def __init__(self, patience: int | None = None):
        if patience is not None and patience < 1:
            raise ValueError(f"patience must be >= 1 or None, got {patience}")
        self.patience = patience
        self.best, self.best_state, self.bad, self.best_step = -math.inf, None, 0, None
        self.steps = 0

    def update(self, score: float, model: torch.nn.Module) -> bool:
        self.steps += 1
        if score > self.best:
            self.best, self.bad, self.best_step = score, 0, self.steps
            self.best_state = copy.deepcopy(model.state_dict())
        else:
            self.bad += 1
        return self.patience is not None and self.bad >= self.patience

    def restore(self, model: torch.nn.Module) -> None:
        if self.best_state is not None:
            model.load_state_dict(self.best_state)
