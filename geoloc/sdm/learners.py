"""SDM learners with the scikit-learn estimator API, chosen by name (`get_learner`, through
`geoloc.registry.LEARNERS`). Every learner takes `device` and `seed`, so the protocols build any
of them the same way.

The interface, which a new learner (e.g. a multi-species model) implements:

- `fit(X, Y, sample_weight)`: `X` (N, D) covariates shared by all species; `Y` (N, S) targets
  (1 presence, 0 background), or (N,) for one species; `sample_weight` of the same shape, in
  which 0 leaves a row out of that species' model (held-out fold, the species' own records in its
  background). Either may be dense or scipy.sparse; the evaluation passes sparse (N, k) arrays
  that store only each species' presences and background, so read them as their weighted (row,
  species) entries (`_pairs`), never densified. A species (column) without any weighted row is
  left unfitted (NaN predictions): the columns keep their meaning from fit to fit, so a warm
  start continues every species from its own last solution.
- `predict_proba(X)`: (n, S) presence probabilities (MLPClassifier's multilabel shape), or the
  usual (n, 2) for 1-D targets; the evaluation calls it on bounded chunks of rows.
- The evaluation fits the kept species a block of `sdm.species_block` at a time, one fresh
  learner per block refitted over the folds. A learner whose species share parameters says
  `shares_species = True` and is given all kept species in one block (they are one target
  group, and it learns from all of them). A fit's memory should grow with the pairs it is
  given (plus a (batch, species) block), not with rows x species.

- `logistic`: L2 logistic regression on standardised covariates, every species in one torch problem
  (batched Newton: a few large matrix products per step for all species, on the GPU when there is
  one). Same objective as
  `sklearn.linear_model.LogisticRegression(C=C, class_weight="balanced")`, intercept unpenalised.
- `rf_downsampled`: random forest whose every tree sees a bootstrap of the presences and as many
  background points (Valavi et al. 2022, Ecol. Monogr. 92:e01486: the strongest single method).
- `mlp`: one small MLP per species, trained together as a batched torch model.
- `maxent`, `an_full` (geoloc.sdm.multispecies): one network for all species, trained with a
  presence-only loss (DeepMaxent, SINR); `shares_species`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Annotated, Literal, get_type_hints

import numpy as np
from pydantic import (
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    TypeAdapter,
    ValidationError,
)
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.tree import DecisionTreeClassifier

from geoloc.errors import GeolocError

_CHUNK_ROWS = 65536  # rows centred at a time when measuring the column scales
Fraction = Annotated[float, Field(gt=0, le=1)]


@dataclass(frozen=True)
class Pairs:
    """The (row, species) entries of a fit that carry weight, sorted by row then species: the
    one form every learner works from, whatever the input (dense or sparse (N, S))."""

    rows: np.ndarray  # (M,) int64 rows of X
    species: np.ndarray  # (M,) int64 columns of Y
    targets: np.ndarray  # (M,) float32: 1 presence, 0 background
    weights: np.ndarray  # (M,) float32 > 0 sample weights
    n_rows: int
    n_species: int
    single: bool  # y was 1-D: predictions in sklearn's (N, 2) shape

    def counts(self) -> tuple[np.ndarray, np.ndarray]:
        """(S,) rows and presences of each species."""
        n_used = np.bincount(self.species, minlength=self.n_species)
        return n_used, np.bincount(self.species[self.targets > 0], minlength=self.n_species)

    def fitted(self) -> np.ndarray:
        """(S,) bool: species with rows; the others are left unfitted (NaN predictions)."""
        return np.bincount(self.species, minlength=self.n_species) > 0

    def class_weights(self) -> np.ndarray:
        """(2, S) float32: sklearn's "balanced" n / (2 n_class) for background and presence
        rows, counted per species on its own rows (NaN for unfitted species)."""
        n_used, n_pos = self.counts()
        with np.errstate(divide="ignore", invalid="ignore"):
            weights = np.stack([n_used / (2 * (n_used - n_pos)), n_used / (2 * n_pos)])
        return weights.astype(np.float32)

    def balanced_weights(self, class_weights: np.ndarray) -> np.ndarray:
        """(M,) sample weight x class weight of each pair."""
        negative, positive = class_weights
        return self.weights * (
            negative[self.species] + self.targets * (positive - negative)[self.species]
        )

    def on_rows(self, rows: np.ndarray) -> Pairs:
        """The same pairs on a sub-table holding the sorted `rows` of X (all used rows)."""
        return replace(self, rows=np.searchsorted(rows, self.rows), n_rows=len(rows))

    def matrix(self, values: np.ndarray) -> sparse.csr_array:
        """`values` (M,) as a sparse (N, S) array."""
        shape = (self.n_rows, self.n_species)
        return sparse.csr_array((values, (self.rows, self.species)), shape=shape)


def _pairs(y, sample_weight) -> Pairs:
    """The weighted pairs of targets `y` ((N,) or (N, S), 0 background / 1 presence) under
    `sample_weight` (same shape or broadcastable, 0 = the row is not in that species' model);
    either may be a scipy.sparse array, then only its stored entries are read."""
    if sparse.issparse(y) or sparse.issparse(sample_weight):
        pairs = _sparse_pairs(y, sample_weight)
    else:
        pairs = _dense_pairs(y, sample_weight)
    n_used, n_pos = pairs.counts()
    if not n_used.any():
        raise ValueError("no species has a row with a positive sample weight")
    if ((n_used > 0) & ((n_pos == 0) | (n_pos == n_used))).any():
        raise ValueError("every species needs at least one presence and one background row")
    return pairs


def _check_targets(values: np.ndarray) -> None:
    if np.count_nonzero(values == 1) + np.count_nonzero(values == 0) != values.size:
        raise ValueError("targets must be 0 (background) or 1 (presence)")


def _check_weights(values: np.ndarray) -> None:
    if values.min(initial=0) < 0:
        raise ValueError("sample weights must be non-negative")


def _dense_pairs(y, sample_weight) -> Pairs:
    y = np.asarray(y)
    targets = np.asarray(y, dtype=np.float32).reshape(len(y), -1)
    _check_targets(targets)
    if sample_weight is None:
        weights = np.ones_like(targets)
    else:
        weights = np.asarray(sample_weight, dtype=np.float32).reshape(len(y), -1)
        weights = np.broadcast_to(weights, targets.shape)
    _check_weights(weights)
    rows, species = np.nonzero(weights > 0)
    return Pairs(
        rows, species, targets[rows, species], weights[rows, species], *targets.shape, y.ndim == 1
    )


def _sparse_pairs(y, sample_weight) -> Pairs:
    targets = sparse.csr_array(y, dtype=np.float32)
    targets.sum_duplicates()
    _check_targets(targets.data)
    if sample_weight is None:
        sample_weight = np.ones(targets.shape, dtype=np.float32)
    weights = sparse.csr_array(sample_weight, dtype=np.float32)
    if weights.shape != targets.shape:
        raise ValueError(f"sample_weight {weights.shape} does not match targets {targets.shape}")
    weights.sum_duplicates()
    _check_weights(weights.data)
    weights.eliminate_zeros()
    n_rows, n_species = targets.shape
    rows = np.repeat(np.arange(n_rows), np.diff(weights.indptr))
    species = weights.indices.astype(np.int64)
    values = np.asarray(targets[rows, species], dtype=np.float32)
    return Pairs(rows, species, values, weights.data, n_rows, n_species, False)


def _proba(positive: np.ndarray, single: bool) -> np.ndarray:
    return np.column_stack([1 - positive[:, 0], positive[:, 0]]) if single else positive


class _TorchSdm(ClassifierMixin, BaseEstimator):
    """Shared plumbing of the batched torch learners: device, standardisation, output shape."""

    def _setup(self, X) -> None:
        """Device, dtype and the standardisation of X's columns (over all its rows, whichever
        rows a fit uses: the penalty then means the same for any block of species)."""
        import torch

        from geoloc.runtime import resolve_device

        self.device_ = (
            self.device if isinstance(self.device, torch.device) else resolve_device(self.device)
        )
        self.dtype_ = getattr(torch, self.dtype)
        X, dtype = np.asarray(X), np.dtype(self.dtype)
        # the mean summed in float64: a constant column (e.g. a degree-0 harmonic) then centres
        # to exact zeros, not float32 rounding noise blown up to unit variance
        mean = X.mean(0, dtype=np.float64).astype(dtype)
        squares = np.zeros(X.shape[1], dtype=np.float64)
        for start in range(0, len(X), _CHUNK_ROWS):  # no full centred copy of X
            centred = np.asarray(X[start : start + _CHUNK_ROWS], dtype=dtype) - mean
            squares += np.einsum("ij,ij->j", centred, centred, dtype=np.float64)
        self.mean_ = self._tensor(mean)
        self.scale_ = self._tensor(np.sqrt(squares / max(len(X), 1))).clamp_min_(1e-12)
        self.classes_ = np.array([0, 1])

    def _tensor(self, array):
        import torch

        return torch.as_tensor(array, dtype=self.dtype_, device=self.device_)

    def _standardise(self, X):
        return (self._tensor(np.asarray(X)) - self.mean_) / self.scale_

    def predict_proba(self, X) -> np.ndarray:
        return _proba(self._logits(X).sigmoid_().cpu().numpy(), self.single_)

    def decision_function(self, X) -> np.ndarray:
        logits = self._logits(X).cpu().numpy()
        return logits[:, 0] if self.single_ else logits

    def predict(self, X) -> np.ndarray:
        return (self.decision_function(X) > 0).astype(np.int64)


class BatchedLogistic(_TorchSdm):
    """L2 logistic regression of every species at once, batched Newton in torch.

    Minimises, per species, C * sum_i w_i logloss_i + ||coef||^2 / 2 (sklearn's objective, intercept
    unpenalised) over the species' own rows only (geoloc.sdm.newton: all species' Hessians as one
    matrix product, Cholesky solves, a per-species line search and stopping test). `tol` bounds the
    gradient of the objective divided by C x the species' total weight: the scaled objective
    sklearn's lbfgs stops on, 100x tighter than its default (Newton gets there in a step or two,
    and wide covariates need it to match sklearn's optimum). `warm_start` starts a refit from
    the last solution when the shapes agree (as sklearn's; on by default here, since the CV folds
    refit one learner), which saves most steps across folds. The fit is deterministic: `seed` is
    accepted for the common learner interface and draws nothing.
    """

    # covariates, matrix products and predictions; parameters, gradients and solves are float64
    dtype = "float32"

    def __init__(
        self,
        C: PositiveFloat = 1.0,
        class_weight: Literal["balanced", "none"] | None = "balanced",
        max_iter: PositiveInt = 100,
        tol: PositiveFloat = 1e-6,
        device: str = "auto",
        warm_start: bool = True,
        seed: NonNegativeInt = 0,
    ):
        self.C = C
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.tol = tol
        self.device = device
        self.warm_start = warm_start
        self.seed = seed

    def fit(self, X, y, sample_weight=None):
        import torch

        from geoloc.sdm.newton import LogisticBlocks, batched_newton

        pairs = _pairs(y, sample_weight)
        self.single_ = pairs.single
        self._setup(X)
        used = np.unique(pairs.rows)  # only the rows some species uses are standardised
        d, n_species = np.shape(X)[1], pairs.n_species
        design = torch.ones(len(used), d + 1, dtype=self.dtype_, device=self.device_)
        design[:, :d] = self._tensor(np.asarray(X)[used])  # the last column: intercept
        design[:, :d].sub_(self.mean_).div_(self.scale_)
        blocks = LogisticBlocks(
            design,
            pairs.on_rows(used),
            self.C,
            pairs.class_weights() if self.class_weight == "balanced" else None,
        )
        del design
        scale = self.C * blocks.total_weight  # per species: a mean loss, like sklearn's
        f64 = torch.float64
        theta0 = torch.zeros(n_species, d + 1, dtype=f64, device=self.device_)
        previous = getattr(self, "coef_", None) if self.warm_start else None
        if previous is not None and previous.shape == (d, n_species):
            # like sklearn's warm_start: start from the last fit (e.g. the next CV fold); a
            # species left unfitted then (NaN) starts from zero
            theta0 = torch.cat([previous.T, self.intercept_[:, None]], 1).to(self.device_, f64)
            theta0 = theta0.nan_to_num_(0.0)
        fitted = pairs.fitted()
        species = torch.as_tensor(np.flatnonzero(fitted), device=self.device_)
        theta, iterations = batched_newton(
            blocks, theta0, scale, max_iter=self.max_iter, tol=self.tol, species=species
        )
        theta[torch.as_tensor(~fitted, device=self.device_)] = np.nan
        self.coef_ = theta[:, :d].T.contiguous()
        self.intercept_ = theta[:, d].contiguous()
        self.n_iter_ = iterations.cpu().numpy()
        return self

    def _logits(self, X):
        import torch

        dtype = self.dtype_
        return torch.addmm(self.intercept_.to(dtype), self._standardise(X), self.coef_.to(dtype))


class BatchedMLP(_TorchSdm):
    """One small ReLU MLP per species (hidden units, weight decay), all trained in one torch model
    with Adam on mini-batches of rows; class-balanced weighted cross-entropy like the logistic."""

    def __init__(
        self,
        hidden: PositiveInt = 32,
        epochs: PositiveInt = 60,
        batch_size: PositiveInt = 2048,
        lr: PositiveFloat = 3e-3,
        weight_decay: NonNegativeFloat = 1e-3,
        seed: NonNegativeInt = 0,
        device: str = "auto",
        dtype: Literal["float32", "float64"] = "float32",
    ):
        self.dtype = dtype
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.seed = seed
        self.device = device

    def fit(self, X, y, sample_weight=None):
        import torch

        pairs = _pairs(y, sample_weight)
        self.single_ = pairs.single
        targets = pairs.matrix(pairs.targets)
        weights = pairs.matrix(pairs.balanced_weights(pairs.class_weights()))
        self._setup(X)
        Xs = self._standardise(X)
        n, d = Xs.shape
        s = pairs.n_species
        generator = torch.Generator().manual_seed(self.seed)

        def init(*shape, fan_in):
            bound = 1.0 / np.sqrt(fan_in)
            return (torch.rand(*shape, generator=generator) * 2 - 1) * bound

        self.params_ = [
            init(s, d, self.hidden, fan_in=d),
            init(s, 1, self.hidden, fan_in=d),
            init(s, self.hidden, 1, fan_in=self.hidden),
            init(s, 1, 1, fan_in=self.hidden),
        ]
        self.params_ = [p.to(self.device_, self.dtype_).requires_grad_() for p in self.params_]
        optimizer = torch.optim.AdamW(self.params_, lr=self.lr, weight_decay=self.weight_decay)
        for _ in range(self.epochs):
            for batch in torch.randperm(n, generator=generator).split(self.batch_size):
                rows = batch.numpy()  # (batch, S) dense only for the batch
                Y, Wt = self._tensor(targets[rows].toarray()), self._tensor(weights[rows].toarray())
                batch = batch.to(self.device_)
                optimizer.zero_grad()
                loss = torch.nn.functional.binary_cross_entropy_with_logits(
                    self._forward(Xs[batch]), Y, weight=Wt, reduction="sum"
                )
                (loss / n).backward()
                optimizer.step()
        self.params_ = [p.detach() for p in self.params_]
        self.params_[3][torch.as_tensor(~pairs.fitted(), device=self.device_)] = np.nan
        return self

    def _forward(self, Xs):
        import torch

        w1, b1, w2, b2 = self.params_
        hidden = torch.relu(Xs.unsqueeze(0) @ w1 + b1)  # (S, n, H)
        return (hidden @ w2 + b2)[..., 0].T  # (n, S)

    def _logits(self, X):
        return self._forward(self._standardise(X))


class DownsampledRandomForest(ClassifierMixin, BaseEstimator):
    """Down-sampled random forest: each tree is grown on a bootstrap of the P presences plus P
    background rows drawn with replacement, so every tree sees balanced classes. scikit-learn's
    trees run on the CPU: `device` is accepted for the common learner interface only."""

    def __init__(
        self,
        n_estimators: PositiveInt = 200,
        max_features: Literal["sqrt", "log2"] | PositiveInt | Fraction = "sqrt",
        min_samples_leaf: PositiveInt = 1,
        seed: NonNegativeInt = 0,
        device: str = "cpu",
    ):
        self.n_estimators = n_estimators
        self.max_features = max_features
        self.min_samples_leaf = min_samples_leaf
        self.seed = seed
        self.device = device

    def fit(self, X, y, sample_weight=None):
        pairs = _pairs(y, sample_weight)
        self.single_ = pairs.single
        X = np.asarray(X, dtype=np.float32)
        rng = np.random.default_rng(self.seed)
        self.classes_ = np.array([0, 1])
        self.forests_ = []
        order = np.lexsort((pairs.rows, pairs.species))  # by species, rows ascending
        starts = np.searchsorted(pairs.species[order], np.arange(pairs.n_species + 1))
        for s in range(pairs.n_species):
            own = order[starts[s] : starts[s + 1]]
            presences = pairs.rows[own[pairs.targets[own] > 0]]
            background = pairs.rows[own[pairs.targets[own] == 0]]
            # a species without rows is not fitted (NaN predictions)
            self.forests_.append(self._forest(X, presences, background, rng) if len(own) else None)
        return self

    def _forest(self, X, presences, background, rng) -> list:
        trees = []
        for _ in range(self.n_estimators):
            rows = np.concatenate(
                [rng.choice(presences, len(presences)), rng.choice(background, len(presences))]
            )
            tree = DecisionTreeClassifier(
                max_features=self.max_features,
                min_samples_leaf=self.min_samples_leaf,
                random_state=int(rng.integers(2**31 - 1)),
            )
            labels = np.repeat(np.float32([1, 0]), len(presences))
            trees.append(tree.fit(X[rows], labels))
        return trees

    def predict_proba(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        positive = np.column_stack(
            [
                np.mean([tree.predict_proba(X)[:, 1] for tree in trees], axis=0)
                if trees is not None
                else np.full(len(X), np.nan)
                for trees in self.forests_
            ]
        )
        return _proba(positive, self.single_)

    def predict(self, X) -> np.ndarray:
        positive = self.predict_proba(X)
        return (positive[:, 1] if self.single_ else positive > 0.5).astype(np.int64)


def get_learner(name: str, device="auto", seed: int = 0, **options):
    """A fresh learner by registry name (geoloc.registry.LEARNERS) on `device`, seeded by `seed`;
    unknown names or options, or values of the wrong type or range, are user errors."""
    from geoloc.registry import LEARNERS

    learner = LEARNERS.get(name)
    try:
        built = learner(device=device, seed=seed, **options)
    except TypeError as err:
        accepted = sorted(set(learner(device=device, seed=seed).get_params()) - {"device", "seed"})
        unknown = [key for key in options if key not in accepted]
        reason = f"no option {', '.join(map(repr, unknown))}" if unknown else str(err)
        raise GeolocError(
            f"bad options for SDM learner {name!r}: {reason}; its options: {', '.join(accepted)}"
        ) from None
    check_params(built, name)
    return built


def check_params(learner, name: str | None = None) -> None:
    """Each constructor param of `learner` but the device against its annotation (types and
    bounds: PositiveInt, Literal, ...), so that a bad option stops, named, before any fit."""
    hints = get_type_hints(type(learner).__init__, include_extras=True)
    for key, value in learner.get_params(deep=False).items():
        if key == "device" or key not in hints:
            continue
        try:
            TypeAdapter(hints[key]).validate_python(value)
        except ValidationError as err:
            reason = "; ".join(error["msg"] for error in err.errors())
            learner_name = name or type(learner).__name__
            raise GeolocError(
                f"bad option {key}={value!r} for SDM learner {learner_name!r}: {reason}"
            ) from None
