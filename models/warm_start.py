"""Start training from a shipped ONNX model instead of from scratch.

Checkpoints live in git-ignored run folders and do not outlive a machine; the shipped FP32 ONNX
files do. Export folds each BatchNorm into the convolution before it, so the folded weight goes
back into the convolution and the BatchNorm is re-created to compute the identity on real data:
its running statistics are those of the convolution's output on a sample batch, and its affine
parameters undo them (gamma = std, beta = mean + folded bias). The network then computes what
the ONNX model computes, and BatchNorm still normalises by batch statistics in training.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import numpy_helper
from torch import nn


def _onnx_convs(path: Path) -> list[tuple[np.ndarray, np.ndarray | None]]:
    graph = onnx.load(str(path)).graph
    weights = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    convs = []
    for node in graph.node:
        if node.op_type == "Conv":
            bias = weights.get(node.input[2]) if len(node.input) > 2 else None
            convs.append((weights[node.input[1]], bias))
    return convs


def _execution_order(model: nn.Module, sample: torch.Tensor) -> list[nn.Module]:
    order: list[nn.Module] = []
    hooks = [
        m.register_forward_hook(lambda mod, _i, _o: order.append(mod))
        for m in model.modules()
        if isinstance(m, nn.Conv2d | nn.BatchNorm2d)
    ]
    with torch.no_grad():
        model.eval()(sample)
    for hook in hooks:
        hook.remove()
    return order


def load_folded_onnx(model: nn.Module, path: Path, sample: torch.Tensor, tolerance: float = 1e-3) -> float:
    """Load `path`'s weights into `model` (same architecture, BatchNorm folded on export).

    Returns the largest absolute difference between the two models' first outputs on `sample`;
    ValueError when the layers do not line up or the outputs differ by more than `tolerance`.
    """
    order = _execution_order(model, sample)
    convs = [m for m in order if isinstance(m, nn.Conv2d)]
    folded = _onnx_convs(path)
    if len(convs) != len(folded):
        raise ValueError(f"{path} has {len(folded)} convolutions, the network {len(convs)}")
    pairs: list[tuple[nn.Conv2d, nn.BatchNorm2d | None, np.ndarray | None]] = []
    for conv, (weight, bias) in zip(convs, folded, strict=True):
        if tuple(conv.weight.shape) != weight.shape:
            raise ValueError(f"weight shape {weight.shape} in {path} does not fit {tuple(conv.weight.shape)}")
        at = order.index(conv)
        nxt = order[at + 1] if at + 1 < len(order) else None
        norm = nxt if isinstance(nxt, nn.BatchNorm2d) else None
        with torch.no_grad():
            conv.weight.copy_(torch.from_numpy(np.array(weight)))
            if norm is None:
                if conv.bias is None:
                    if bias is not None and np.any(bias):
                        raise ValueError("a folded bias has no BatchNorm or conv bias to go to")
                else:
                    folded_bias = bias if bias is not None else np.zeros(weight.shape[0], np.float32)
                    conv.bias.copy_(torch.from_numpy(np.array(folded_bias)))
        pairs.append((conv, norm, bias))

    captured: dict[nn.Conv2d, torch.Tensor] = {}
    hooks = [
        conv.register_forward_hook(lambda mod, _i, out: captured.__setitem__(mod, out.detach()))
        for conv, norm, _ in pairs
        if norm is not None
    ]
    # Identity BatchNorms first, so each convolution sees the inputs the ONNX model would.
    for _conv, norm, bias in pairs:
        if norm is not None:
            with torch.no_grad():
                norm.running_mean.zero_()
                norm.running_var.fill_(1.0 - norm.eps)
                norm.weight.fill_(1.0)
                norm.bias.copy_(
                    torch.from_numpy(np.array(bias)) if bias is not None else torch.zeros_like(norm.bias)
                )
    with torch.no_grad():
        model.eval()(sample)
    for hook in hooks:
        hook.remove()
    for conv, norm, bias in pairs:
        if norm is None:
            continue
        out = captured[conv]
        mean = out.mean(dim=(0, 2, 3))
        var = out.var(dim=(0, 2, 3), unbiased=False).clamp_min(1e-6)
        shift = torch.from_numpy(np.array(bias)) if bias is not None else torch.zeros_like(mean)
        with torch.no_grad():
            norm.running_mean.copy_(mean)
            norm.running_var.copy_(var)
            norm.weight.copy_(torch.sqrt(var + norm.eps))
            norm.bias.copy_(mean + shift)

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    check = sample
    fixed = session.get_inputs()[0].shape[2:]
    if all(isinstance(d, int) for d in fixed) and tuple(fixed) != tuple(sample.shape[2:]):
        # A model exported at a fixed input size (the detector) is compared at that size.
        check = torch.nn.functional.interpolate(sample, size=tuple(fixed), mode="bilinear")
    expected = session.run(None, {session.get_inputs()[0].name: check.numpy()})[0]
    with torch.no_grad():
        got = model.eval()(check)
    got = got[0] if isinstance(got, tuple | list) else got
    diff = float(np.max(np.abs(got.numpy() - expected)))
    if diff > tolerance:
        raise ValueError(f"the network does not reproduce {path}: max difference {diff:.3g}")
    return diff
