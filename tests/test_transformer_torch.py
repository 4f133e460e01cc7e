"""The transformer's hand-written backward passes against PyTorch autograd, in float64.

Every layer (token and position embeddings, LayerNorm, causal attention with its head gates, the MLP
block with GELU and ReLU, a pre-LN block) and the whole model are written once more with torch
operations on copies of the same weights; outputs and every gradient must agree to a relative error
of 1e-10 (``max |a - b| / max(|a| + |b|)``).
"""
import numpy as np
import pytest

from adaprune_edu.nn.gradcheck import relative_error
from adaprune_edu.nn.layers.attention import CausalSelfAttention
from adaprune_edu.nn.layers.embedding import PositionEmbedding, TokenEmbedding
from adaprune_edu.nn.layers.feedforward import FeedForward
from adaprune_edu.nn.layers.layernorm import LayerNorm
from adaprune_edu.nn.layers.transformer_block import TransformerBlock
from adaprune_edu.nn.transformer import TinyTransformer

torch = pytest.importorskip("torch")
F = torch.nn.functional

pytestmark = [pytest.mark.torch, pytest.mark.usefixtures("one_torch_thread")]
TOLERANCE = 1e-10



def leaves(params: dict) -> dict:
    return {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}


def torch_layernorm(X, p):
    return F.layer_norm(X, (X.shape[-1],), p["gamma"], p["beta"], eps=1e-5)


def torch_attention(X, p):
    batch, time, _ = X.shape
    n_heads = p["head_gate"].shape[0]
    head_dim = p["Wq"].shape[1] // n_heads

    def heads(M):
        return M.reshape(batch, time, n_heads, head_dim).transpose(1, 2)

    Q, K, V = heads(X @ p["Wq"]), heads(X @ p["Wk"]), heads(X @ p["Wv"])
    Y = F.scaled_dot_product_attention(Q, K, V, is_causal=True)
    Y = Y * p["head_gate"][:, None, None]
    return Y.transpose(1, 2).reshape(batch, time, -1) @ p["Wo"]


def torch_mlp(X, p, activation):
    Z = X @ p["W1"]
    A = F.gelu(Z, approximate="tanh") if activation == "gelu" else torch.relu(Z)
    return A @ p["W2"]


def torch_block(X, ps, activation="gelu"):
    H = X + torch_attention(torch_layernorm(X, ps[0]), ps[1])
    return H + torch_mlp(torch_layernorm(H, ps[2]), ps[3], activation)


def compare(layer, params, X, torch_forward, need_dX=True):
    """Run ``layer`` forward/backward with a random upstream gradient and torch on the same numbers."""
    rng = np.random.default_rng(1)
    out, cache = layer.forward(params, X)
    dout = rng.standard_normal(out.shape)
    dX, grads = layer.backward(params, dout, cache, need_dX=need_dX)
    is_list = isinstance(params, list)
    tparams = [leaves(p) for p in params] if is_list else leaves(params)
    tX = torch.tensor(X, requires_grad=need_dX) if need_dX else torch.tensor(X)
    tout = torch_forward(tX, tparams)
    (tout * torch.tensor(dout)).sum().backward()
    errors = {"out": relative_error(out, tout.detach().numpy())}
    if need_dX:
        errors["dX"] = relative_error(dX, tX.grad.numpy())
    pairs = zip(grads, tparams) if is_list else [(grads, tparams)]
    for i, (g, tp) in enumerate(pairs):
        for key, value in g.items():
            errors[f"{i}.{key}"] = relative_error(value, tp[key].grad.numpy())
    assert max(errors.values()) <= TOLERANCE, errors
    return errors


def test_token_embedding_matches_torch():
    layer = TokenEmbedding(11, 6)
    params = layer.init_params(np.random.default_rng(0), np.float64)
    tokens = np.random.default_rng(2).integers(0, 11, size=(3, 9))  # repeats: gradients must add up
    compare(layer, params, tokens, lambda X, p: F.embedding(X, p["W"]), need_dX=False)


def test_position_embedding_matches_torch():
    layer = PositionEmbedding(12, 5)
    params = layer.init_params(np.random.default_rng(0), np.float64)
    X = np.random.default_rng(2).standard_normal((3, 7, 5))  # shorter than the context
    compare(layer, params, X, lambda X, p: X + p["W"][:7])


def test_layernorm_matches_torch():
    layer = LayerNorm(8)
    rng = np.random.default_rng(0)
    params = {"gamma": rng.standard_normal(8), "beta": rng.standard_normal(8)}
    compare(layer, params, rng.standard_normal((3, 5, 8)) * 3 + 1, torch_layernorm)


@pytest.mark.parametrize("n_heads", [1, 2, 4])
def test_attention_matches_torch_with_gates(n_heads):
    layer = CausalSelfAttention(8, n_heads)
    rng = np.random.default_rng(n_heads)
    params = layer.init_params(rng, np.float64)
    params["head_gate"] = rng.uniform(0.5, 1.5, size=n_heads)  # not all ones, so the gate gradient is tested
    compare(layer, params, rng.standard_normal((2, 6, 8)), torch_attention)


def test_attention_with_heads_removed_matches_torch():
    """Deleting head 1's columns of Wq/Wk/Wv, its rows of Wo and its gate gives a working 2-head layer."""
    layer = CausalSelfAttention(8, 4)
    rng = np.random.default_rng(0)
    params = layer.init_params(rng, np.float64)
    keep = np.r_[0:2, 4:8]  # heads 0 and 2 of width 2
    small = {"Wq": params["Wq"][:, keep], "Wk": params["Wk"][:, keep], "Wv": params["Wv"][:, keep],
             "Wo": params["Wo"][keep], "head_gate": params["head_gate"][[0, 2]]}
    compare(layer, small, rng.standard_normal((2, 5, 8)), torch_attention)


@pytest.mark.parametrize("activation", ["gelu", "relu"])
def test_feedforward_matches_torch(activation):
    layer = FeedForward(6, 10, activation)
    rng = np.random.default_rng(0)
    params = layer.init_params(rng, np.float64)
    compare(layer, params, rng.standard_normal((2, 4, 6)), lambda X, p: torch_mlp(X, p, activation))


def test_block_matches_torch():
    block = TransformerBlock(8, 2)
    rng = np.random.default_rng(0)
    params = block.init_params(rng, np.float64)
    for p in (params[0], params[2]):
        p["gamma"] += rng.standard_normal(8) * 0.3
        p["beta"] += rng.standard_normal(8) * 0.3
    compare(block, params, rng.standard_normal((2, 5, 8)), torch_block)


def test_whole_model_loss_and_gradients_match_torch():
    model = TinyTransformer(vocab=13, d_model=8, n_layers=2, n_heads=2, context=6, seed=0, dtype="float64")
    rng = np.random.default_rng(3)
    for p in model.params:  # move the gates and LayerNorms off their initial ones and zeros
        for key in ("head_gate", "gamma", "beta"):
            if key in p:
                p[key] = p[key] + rng.standard_normal(p[key].shape) * 0.3
    tokens = rng.integers(0, 13, size=(3, 7))
    loss, grads = model.loss(tokens)

    tp = [leaves(p) for p in model.params]
    X = F.embedding(torch.tensor(tokens[:, :-1]), tp[0]["W"]) + tp[1]["W"][:6]
    for i in range(model.n_layers):
        X = torch_block(X, tp[2 + 4 * i: 6 + 4 * i])
    logits = torch_layernorm(X, tp[-2]) @ tp[-1]["W"]
    tloss = F.cross_entropy(logits.reshape(-1, 13), torch.tensor(tokens[:, 1:]).reshape(-1))
    tloss.backward()
    errors = {"loss": abs(loss - tloss.item()) / abs(tloss.item())}
    for name, g, t in zip(model.param_names, grads, tp):
        for key, value in g.items():
            errors[f"{name}.{key}"] = relative_error(value, t[key].grad.numpy())
    assert max(errors.values()) <= TOLERANCE, errors
    assert np.allclose(model.logits(tokens[:, :-1]), logits.detach().numpy(), rtol=0, atol=1e-12)
