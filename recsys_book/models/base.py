"""The one interface every model implements (the *model contract*), and the two simplest models.

**Scoring.** Every model is a ``torch.nn.Module`` built as ``Model(n_users, n_items, ...)``
(composites such as SDMR, MASR and NeuMF++ are built from their trained parts and take
the sizes from them) with

* ``score(users (B,), items (B, C), **inputs) -> (B, C)``, float: **higher means more
  preferred**. Distance models return the negated distance and say so. ``inputs`` are the
  per-row extras a protocol attaches (``context``/``context_mask`` for memory models,
  ``playlist`` for playlist models); models that need none ignore them.
* ``score_all(users (B,), **inputs) -> (B, n_items)``: every item. The base class scores the
  catalogue in chunks of candidates (:meth:`Recommender.score_in_chunks`) so that a memory
  model, which builds a (B, C, s, d) tensor, never runs out of memory; a model with a
  cheaper closed form (one matrix product) overrides it.
* ``recommend(users, k, exclude=...)``: top-k item ids with training items masked.
* Devices: models are built on the CPU and moved with ``.to(device)``; ``model.device``
  says where they live. :func:`recsys_book.train.fit` moves a gradient model to its
  ``device`` argument (``"auto"``: CUDA when present) and **leaves it there** (the model
  lives on CUDA after ``fit(model, split)`` on a GPU machine); a closed-form model's ``fit``
  computes where the model lives (``EASE(...).to("cuda").fit(split)``).
  **One device rule:** every public method of a model (``score``, ``score_all``,
  ``recommend``, ``encode``, ``attend``, ... whatever a chapter calls) accepts its tensor
  arguments on any device and answers on the model's device. The move happens once, here:
  :class:`Recommender` wraps each public method a subclass defines in
  :func:`on_model_device` when the class is created, so no model moves its own inputs
  (``tests/test_contract.py`` checks that every public method of every model is wrapped).
  Outputs stay on the model's device: call ``.cpu()`` before ``.numpy()``.

**Training, gradient models.** A model *declares* how :func:`recsys_book.train.fit` trains
it, so that a call site does not repeat it:

* ``loss``: ``"bpr"`` (default), ``"hinge"`` or a callable ``(pos (B,), neg (B, n)) -> scalar``;
  ``margin``: the hinge margin; ``neg_reduce``: ``"mean"`` over the sampled negatives or
  ``"max"`` (the hardest one). Class attributes, overridable per instance; an explicit
  ``fit(loss=..., margin=..., neg_reduce=...)`` overrides the declaration for one run.
* ``exclude_by``: whose items a sampled negative must avoid, a column of the training data:
  ``"playlist"`` for models of a playlist's songs (MDR, MASS), ``None`` (default) for the
  split to decide: ``"playlist"`` where the training data has playlists, else ``"user"``
  (:func:`negatives_group`); ``fit(exclude_by=...)`` overrides it for one run.
* hooks, exactly these names (:data:`HOOKS`): ``regularization(users, items, **inputs) ->
  scalar`` (the L2 term of its paper; ``fit`` adds ``reg *`` it, and ``reg > 0`` on a model
  without it is an error) and ``post_step() -> None`` (after every optimiser step, e.g. a
  projection into the unit ball). A method whose name is a near miss of a hook
  (``post_steps``, ``regularisation``) is an error, not silently ignored.

**Training, closed-form / ALS / ADMM models** (:class:`ClosedForm`: EASE, GF-CF, CoRML,
SLIM, ItemKNN, WMF/RME, Item2Vec, Popularity): ``fit(split_or_interactions, ...) -> self``,
and ``history_``, a DataFrame with one row per iteration (sweep, ADMM step, or the single
solve) and its ``seconds``; :func:`recsys_book.train.fit` refuses them with a pointer here.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import time

import pandas as pd
import torch
from torch import nn

from recsys_book.metrics import stable_topk
from recsys_book.utils import ids_trusted, is_whole_number

#: the optional training hooks a gradient model may define (see the module docstring)
HOOKS = ("regularization", "post_step")
LOSSES = ("bpr", "hinge")
NEG_REDUCE = ("mean", "max")


#: nn.Module's own methods (``to``, ``train``, ``state_dict``, ...) are not entry points;
#: ``forward`` is (a model may define it instead of, or beside, ``score``)
_MODULE_METHODS = frozenset(name for name in dir(nn.Module) if name != "forward")


def _to(value, device: torch.device):
    """``value`` with its tensors on ``device``: a tensor, or a dict/list/tuple of them
    (one level: the ``inputs`` dicts a protocol attaches). Anything else is returned as is."""
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, dict):
        return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in value.items()}
    if isinstance(value, (list, tuple)) and any(isinstance(v, torch.Tensor) for v in value):
        return type(value)(v.to(device) if isinstance(v, torch.Tensor) else v for v in value)
    return value


#: the entry points whose ids are checked against the catalogue (a notebook's call, a
#: recommendation); inside ``fit`` and ``evaluate``, which check the sizes once up front,
#: they are trusted (:func:`trusted_ids`): no reduction, no host synchronisation per step
_ID_CHECKED = frozenset({"score", "score_all", "recommend"})


def _check_ids(model, args, kwargs) -> None:
    """An id outside ``0..n-1`` is named with the model's sizes, instead of torch's
    ``IndexError: index out of range in self`` from inside an embedding."""
    names = ("users", "items")
    for i, (name, size) in enumerate(zip(names, (model.n_users, model.n_items))):
        ids = args[i] if len(args) > i else kwargs.get(name)
        if not isinstance(ids, torch.Tensor) or ids.numel() == 0 or ids.is_floating_point() or ids.is_meta:
            continue
        lo, hi = int(ids.min()), int(ids.max())
        if lo < 0 or hi >= size:
            bad = lo if lo < 0 else hi
            raise IndexError(
                f"{type(model).__name__}: {name[:-1]} id {bad} is outside 0..{size - 1}; the "
                f"model was built for {model.n_users} users x {model.n_items} items. Use ids "
                "of the split it was built from (a model sized for another dataset cannot "
                "score this one)."
            )


def on_model_device(method):
    """Wrap a model method so that its tensor arguments are moved to ``self.device`` first.

    The model contract's one device rule (module docstring): :class:`Recommender` applies it
    to every public method of every subclass; ``method.__device_boundary__`` marks it."""
    if getattr(method, "__device_boundary__", False):
        return method

    checks_ids = method.__name__ in _ID_CHECKED

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        dev = self._device_probe.device
        args = tuple(_to(a, dev) for a in args)
        kwargs = {k: _to(v, dev) for k, v in kwargs.items()}
        if checks_ids and not ids_trusted():
            _check_ids(self, args, kwargs)
        return method(self, *args, **kwargs)

    wrapper.__device_boundary__ = True
    return wrapper


#: constructor arguments that are sizes or counts: positive integers (``None`` where a model
#: gives it a meaning), checked for every model before its ``__init__`` runs
SIZE_ARGS = frozenset(
    {"dim", "k", "hops", "L", "n_h", "n_v", "n_memory", "n_singular", "n_iter", "iterations",
     "max_neighbours", "n_playlists", "storage_dim", "layers", "chunk"}
)


def _check_sizes(cls: type, sig: inspect.Signature, args, kwargs) -> None:
    """A model built with a size of 0 (``MFBPR(n, m, 0)``: 0-dimensional embeddings) or a
    fractional or negative one is an error that names the argument, not a model that
    trains to nothing."""
    try:
        bound = sig.bind(None, *args, **kwargs)
    except TypeError:
        return  # a wrong call: __init__ itself raises Python's own message
    given = {}
    for name, value in bound.arguments.items():
        kind = sig.parameters[name].kind
        given.update(value if kind is inspect.Parameter.VAR_KEYWORD else {name: value})
    for name, value in given.items():
        if name not in SIZE_ARGS or value is None:
            continue
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        if not values or not all(
            is_whole_number(v) and v >= 1 for v in values
        ):
            raise ValueError(
                f"{cls.__name__}: {name} must be a positive integer"
                + (" (or a non-empty list of them)" if name == "layers" else "")
                + f", got {value!r}"
            )


def _checked_init(cls: type, init):
    """Wrap ``__init__``: sizes are checked first (:data:`SIZE_ARGS`); and a model built
    from parts that already live on one device (SDMR from a trained SDP and SDM, MASR from
    MDR and MASS, on CUDA after ``fit``) lives there too, so that its ``device``, and the
    boundary that reads it, say where its parts are."""

    sig = inspect.signature(init)

    @functools.wraps(init)
    def wrapper(self, *args, **kwargs):
        _check_sizes(cls, sig, args, kwargs)
        init(self, *args, **kwargs)
        devices = {p.device for p in self.parameters()} | {
            b.device for name, b in self.named_buffers() if not name.endswith("_device_probe")
        }
        if len(devices) == 1 and self._device_probe.device not in devices:
            self._device_probe = self._device_probe.to(devices.pop())

    return wrapper


def entry_points(cls: type) -> dict[str, object]:
    """The public methods of model class ``cls`` (its own and inherited, below
    :class:`Recommender`'s nn.Module base): those the device rule covers."""
    names = {}
    for klass in reversed(cls.__mro__):
        if not (isinstance(klass, type) and issubclass(klass, Recommender)):
            continue
        for name, value in vars(klass).items():
            if name.startswith("_") or name in _MODULE_METHODS:
                continue
            if inspect.isfunction(value):
                names[name] = getattr(cls, name)
    return names


class Recommender(nn.Module):
    """Base class: holds ``n_users``/``n_items`` and derives ``score_all``/``recommend``.

    Every public method of a subclass is wrapped in :func:`on_model_device` when the class
    is created (the device rule of the module docstring)."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__init__" in vars(cls):
            cls.__init__ = _checked_init(cls, vars(cls)["__init__"])
        for name, value in list(vars(cls).items()):
            if name.startswith("_") or name in _MODULE_METHODS or not inspect.isfunction(value):
                continue
            setattr(cls, name, on_model_device(value))

    #: how :func:`recsys_book.train.fit` trains this model (see the module docstring)
    loss = "bpr"
    margin: float = 0.5
    neg_reduce: str = "mean"
    exclude_by: str | None = None
    #: upper bound on the floats a chunk of :meth:`score_in_chunks` may materialise
    max_score_elements: int = 1 << 23

    def __init__(self, n_users: int, n_items: int):
        super().__init__()
        if n_users < 1 or n_items < 1:
            raise ValueError(f"n_users and n_items must be positive, got {n_users}, {n_items}")
        self.n_users = int(n_users)
        self.n_items = int(n_items)
        # a buffer so that .to(device) moves it and parameter-free models know their device
        self.register_buffer("_device_probe", torch.zeros(0), persistent=False)

    @property
    def device(self) -> torch.device:
        return self._device_probe.device

    @on_model_device
    def score(self, users: torch.Tensor, items: torch.Tensor, **inputs) -> torch.Tensor:
        raise NotImplementedError

    @on_model_device
    def candidate_cost(self, **inputs) -> int:
        """Floats materialised per (row, candidate) by ``score``: 1 for embedding models;
        memory models return s * d (their (B, C, s, d) tensor). Sets the chunk size of
        :meth:`score_in_chunks`."""
        return 1

    @on_model_device
    def score_in_chunks(self, users: torch.Tensor, items: torch.Tensor, **inputs) -> torch.Tensor:
        """``score`` (B, C), computed over slices of the candidates when (B * C * cost)
        would exceed :attr:`max_score_elements`. Without autograd only (evaluation): under
        autograd it is ``score`` itself, so training sees one graph."""
        B, C = items.shape
        step = max(1, self.max_score_elements // max(1, B * int(self.candidate_cost(**inputs))))
        if torch.is_grad_enabled() or C <= step:
            return self.score(users, items, **inputs)
        return torch.cat(
            [self.score(users, items[:, i : i + step], **inputs) for i in range(0, C, step)], dim=1
        )

    @on_model_device
    def score_all(self, users: torch.Tensor, **inputs) -> torch.Tensor:
        items = torch.arange(self.n_items, device=users.device).expand(users.shape[0], -1)
        return self.score_in_chunks(users, items, **inputs)

    @on_model_device
    @torch.no_grad()
    def recommend(self, users, k: int = 10, exclude=None, **inputs) -> torch.Tensor:
        """Top-``k`` item ids per user (B, k); ``exclude`` an Interactions whose items are masked."""
        users = torch.as_tensor(users, device=self.device).reshape(-1)
        scores = self.score_all(users, **inputs).float()
        if exclude is not None:
            seen = exclude.to_dense(device=scores.device)[users] > 0
            scores = scores.masked_fill(seen, -torch.inf)
        return stable_topk(scores, k)[1]  # equal scores in item order

    def extra_repr(self) -> str:
        return f"n_users={self.n_users}, n_items={self.n_items}"


def training_contract(model: nn.Module) -> dict:
    """Check ``model``'s declared training (loss, margin, neg_reduce, hooks) and return it.

    Raises a ValueError for an unknown loss or reduction and for a method whose name is a
    near miss of a hook (``post_steps``, ``regularisation``): such a hook would never run."""
    loss = getattr(model, "loss", "bpr")
    if not callable(loss) and loss not in LOSSES:
        raise ValueError(
            f"{type(model).__name__}.loss must be one of {LOSSES} or a callable(pos, neg), "
            f"got {loss!r}"
        )
    reduce = getattr(model, "neg_reduce", "mean")
    if reduce not in NEG_REDUCE:
        raise ValueError(
            f"{type(model).__name__}.neg_reduce must be one of {NEG_REDUCE}, got {reduce!r}"
        )
    own = {
        name
        for klass in type(model).__mro__
        if klass not in (Recommender, nn.Module, object)
        for name, value in vars(klass).items()
        if callable(value) and not name.startswith("_")
    }
    for name in own - set(HOOKS):
        close = difflib.get_close_matches(name, HOOKS, n=1, cutoff=0.8)
        if close:
            raise ValueError(
                f"{type(model).__name__} defines {name}(), which looks like the training hook "
                f"{close[0]}() but is not named so: fit() would never call it. Rename it "
                f"{close[0]} (hooks: {', '.join(HOOKS)})."
            )
    return {
        "loss": loss,
        "margin": float(getattr(model, "margin", 0.5)),
        "neg_reduce": reduce,
        "regularization": getattr(model, "regularization", None),
        "post_step": getattr(model, "post_step", None),
    }


def negatives_group(model: nn.Module, train_df, exclude_by: str | None = None) -> str:
    """The training-data column whose items a sampled negative avoids: ``exclude_by`` when
    given, else the model's declaration, else ``"playlist"`` where ``train_df`` has playlists
    and ``"user"`` otherwise. A name that is not a column is an error that says which are."""
    col = exclude_by or getattr(model, "exclude_by", None) or ("playlist" if "playlist" in train_df else "user")
    if col not in train_df:
        raise ValueError(
            f"exclude_by={col!r} is not a column of the training data ({list(train_df.columns)}); "
            f"{type(model).__name__} needs a split that has it"
            + (" (build it with playlist_holdout)" if col == "playlist" else "")
        )
    return col


class ClosedForm(Recommender):
    """A model fitted by its own ``fit(data, ...) -> self`` (closed form, ALS, ADMM, counts).

    ``history_``: one row per iteration with at least ``iteration`` and ``seconds``
    (cumulative since the start of ``fit``), plus what the model measures (an objective,
    a validation metric). Subclasses call :meth:`_start_history` then :meth:`_log`."""

    def __init__(self, n_users: int, n_items: int):
        super().__init__(n_users, n_items)
        self.history_ = pd.DataFrame()

    def fit(self, data, *args, **kwargs) -> "ClosedForm":  # pragma: no cover - interface
        raise NotImplementedError

    def _start_history(self) -> None:
        self._rows: list[dict] = []
        self._t0 = time.perf_counter()
        self.history_ = pd.DataFrame()

    def _log(self, **values) -> pd.DataFrame:
        row = {"iteration": len(self._rows) + 1, **values}
        row["seconds"] = time.perf_counter() - self._t0
        self._rows.append(row)
        self.history_ = pd.DataFrame(self._rows)
        return self.history_


def _interactions(data):
    """Accept a Split or an Interactions (use the training part of a split)."""
    return getattr(data, "train", data)


class Popularity(ClosedForm):
    """Most-popular: every user gets the items with the most training interactions.

    The floor every model in the course must clear."""

    def __init__(self, n_users: int, n_items: int):
        super().__init__(n_users, n_items)
        self.register_buffer("counts", torch.zeros(n_items))

    def fit(self, data) -> "Popularity":
        self._start_history()
        inter = _interactions(data)
        self.counts = torch.as_tensor(inter.item_degree(), dtype=torch.float32, device=self.device)
        self._log()
        return self

    def score(self, users, items, **inputs):
        return self.counts[items]

    def score_all(self, users, **inputs):
        return self.counts.expand(users.shape[0], -1)


class RandomModel(ClosedForm):
    """Uniform random scores (seeded): the chance level of a protocol."""

    def __init__(self, n_users: int, n_items: int, seed: int = 0):
        super().__init__(n_users, n_items)
        g = torch.Generator().manual_seed(seed)
        self.register_buffer("table", torch.rand(n_users, n_items, generator=g))

    def fit(self, data) -> "RandomModel":
        self._start_history()
        self._log()
        return self

    def score(self, users, items, **inputs):
        return self.table[users[:, None], items]

    def score_all(self, users, **inputs):
        return self.table[users]
