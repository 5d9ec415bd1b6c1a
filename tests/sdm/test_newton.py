import numpy as np
import torch

from geoloc.sdm.learners import _pairs
from geoloc.sdm.newton import LogisticBlocks


def _problem(n=300, d=5, s=4, seed=0):
    """Shared rows used by most species, then rows owned by one species each (as in a fit)."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.normal(size=(n, d)), np.ones(n)])  # intercept column last
    Y = (rng.random((n, s)) < 0.3).astype(np.float32)
    W = (rng.random((n, s)) < 0.8).astype(np.float32) * rng.uniform(0.5, 2, (n, s))
    W[n // 2 :] = np.eye(s, dtype=np.float32)[np.arange(n - n // 2) % s]
    return X, Y, W.astype(np.float32)


def test_blocks_match_the_dense_objective_gradient_and_hessian_with_balanced_weights():
    X, Y, W = _problem()
    pairs = _pairs(Y, W)
    n_used, n_pos = (W > 0).sum(0), ((W > 0) & (Y > 0)).sum(0)
    class_weights = np.stack([n_used / (2 * (n_used - n_pos)), n_used / (2 * n_pos)])
    np.testing.assert_allclose(pairs.class_weights(), class_weights, rtol=1e-6)
    balanced = W * np.where(Y > 0, class_weights[1], class_weights[0])  # (N, S) reference
    C = 0.7
    blocks = LogisticBlocks(torch.as_tensor(X), pairs, C, pairs.class_weights())
    np.testing.assert_allclose(blocks.total_weight.numpy(), balanced.sum(0), rtol=1e-5)
    theta = torch.as_tensor(np.random.default_rng(1).normal(0, 0.3, (Y.shape[1], X.shape[1])))
    penalty = np.r_[np.ones(X.shape[1] - 1), 0.0]  # intercept unpenalised
    for idx in (torch.arange(Y.shape[1]), torch.tensor([1, 3])):  # everyone; a subset
        loss, grad = (v.numpy() for v in blocks.loss_and_gradient(theta, idx))
        hess = blocks.hessian(idx).numpy()
        for k, s in enumerate(idx.tolist()):
            t = theta[s].numpy()
            p = 1 / (1 + np.exp(-X @ t))
            w = balanced[:, s]
            logloss = -(Y[:, s] * np.log(p) + (1 - Y[:, s]) * np.log(1 - p))
            expected_loss = C * (w * logloss).sum() + 0.5 * (penalty * t * t).sum()
            np.testing.assert_allclose(loss[k], expected_loss, rtol=1e-5)
            expected_grad = C * X.T @ (w * (p - Y[:, s])) + penalty * t
            expected_hess = C * (X.T * (w * p * (1 - p))) @ X + np.diag(penalty)
            np.testing.assert_allclose(grad[k], expected_grad, rtol=1e-4, atol=1e-3)
            np.testing.assert_allclose(hess[k], expected_hess, rtol=1e-4, atol=1e-3)


def test_blocks_without_class_weights_use_the_sample_weights_as_given():
    X, Y, W = _problem(seed=2)
    blocks = LogisticBlocks(torch.as_tensor(X), _pairs(Y, W), 1.0)
    np.testing.assert_allclose(blocks.total_weight.numpy(), W.sum(0, dtype=np.float64), rtol=1e-6)
