"""Prune the reader's channels: a narrower reader that starts out reading nearly as the wide one.

python -m models.reader.prune --input edge/inference/weights/reader_fp32.onnx \
    --layout 32-96-128-160-256-192-192 --output runs/reader/pruned/start.onnx

The layout names every layer's channels (`models.reader.net.layout_for_width`): the five feature
layers, then the inner channels of the two sequence blocks. Each narrowed layer keeps the channels
that carry most into the layer after it: a channel's mean activation on synthetic crops times the
norm of the next convolution's weights on it, those weights scaled by the next BatchNorm as the
exported file folds them. What the dropped channels carried on average is put back as the next
layer's bias, so the pruned reader starts near the wide one; fine-tuning it with
`models.train ocr --init-from <output> --distill-from <input>` (the layout travels in the file's
metadata) teaches it the rest. The sequence itself (layout entry 5) runs through both residual
blocks, so it keeps its width.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from edge.inference.reader_input import prepare_reader_batch
from models.reader.export import export_network, file_network
from models.reader.metrics import greedy_texts
from models.reader.net import PlateReaderNet, format_layout, parse_layout, reader_from_settings
from models.warm_start import load_folded_onnx

PRUNE_SEED = 909  # crops that measure the channels: not a training, test or calibration seed
SEQUENCE_ENTRY = 4  # the layout entry of the residual sequence's channels


@dataclass(frozen=True)
class PrunedLayer:
    """One narrowed layer: the convolution (and BatchNorm) whose outputs are cut, the convolution
    that reads them and its BatchNorm, and the channels kept, in their original order."""

    conv: str
    norm: str
    reader: str
    reader_norm: str
    keep: tuple[int, ...]


def _layer_names(entry: int) -> tuple[str, str, str, str]:
    """Module names of layout entry `entry`: its conv and BatchNorm, the next conv and its BatchNorm."""
    if entry < SEQUENCE_ENTRY:
        return (
            f"features.{entry}.0",
            f"features.{entry}.1",
            f"features.{entry + 1}.0",
            f"features.{entry + 1}.1",
        )
    block = entry - SEQUENCE_ENTRY - 1
    return (
        f"sequence.{block}.conv1",
        f"sequence.{block}.bn1",
        f"sequence.{block}.conv2",
        f"sequence.{block}.bn2",
    )


def synthetic_batch(count: int, seed: int = PRUNE_SEED, font_dir: str | None = None) -> torch.Tensor:
    """`count` synthetic crops of the registry mix as one-row network input."""
    from models.synth.fonts import FontSet
    from models.synth.ocr_samples import OcrSampleFactory

    factory = OcrSampleFactory(FontSet.discover(font_dir))
    crops = [factory.sample(seed, i).crop for i in range(count)]
    return torch.from_numpy(prepare_reader_batch(crops))


def mean_activations(
    model: PlateReaderNet, images: torch.Tensor, names: list[str]
) -> dict[str, torch.Tensor]:
    """Each named BatchNorm's output after ReLU, averaged over the crops: (channels, H, W)."""
    modules = dict(model.named_modules())
    sums: dict[str, torch.Tensor] = {}
    hooks = [
        modules[name].register_forward_hook(
            lambda _m, _i, out, name=name: sums.__setitem__(
                name, sums.get(name, 0) + torch.relu(out).sum(dim=0)
            )
        )
        for name in names
    ]
    with torch.no_grad():
        model.eval()
        for start in range(0, len(images), 256):
            model(images[start : start + 256])
    for hook in hooks:
        hook.remove()
    return {name: total / len(images) for name, total in sums.items()}


def _folded_weight(conv: nn.Conv2d, norm: nn.BatchNorm2d) -> torch.Tensor:
    scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
    return conv.weight * scale[:, None, None, None]


def choose_channels(
    model: PlateReaderNet, layout: tuple[int, ...], means: dict[str, torch.Tensor]
) -> list[PrunedLayer]:
    """The channels each narrowed layer keeps: those carrying most into the next layer."""
    if len(layout) != len(model.layout):
        raise ValueError(f"layout {format_layout(layout)} does not describe this reader")
    if layout[SEQUENCE_ENTRY] != model.layout[SEQUENCE_ENTRY]:
        raise ValueError(
            f"the sequence's channels ({model.layout[SEQUENCE_ENTRY]}) run through both residual blocks and "
            "cannot be pruned here"
        )
    modules = dict(model.named_modules())
    layers = []
    for entry, (wide, narrow) in enumerate(zip(model.layout, layout, strict=True)):
        if narrow == wide:
            continue
        if narrow > wide:
            raise ValueError(
                f"layout entry {entry + 1} asks {narrow} channels of {wide}: pruning only narrows"
            )
        conv, norm, reader, reader_norm = _layer_names(entry)
        weight = _folded_weight(modules[reader], modules[reader_norm])
        carried = means[norm].mean(dim=(1, 2)) * weight.transpose(0, 1).flatten(1).norm(dim=1)
        keep = torch.sort(torch.topk(carried, narrow).indices).values
        layers.append(PrunedLayer(conv, norm, reader, reader_norm, tuple(int(i) for i in keep)))
    return layers


def pruned_copy(
    model: PlateReaderNet, layout: tuple[int, ...], layers: list[PrunedLayer], means: dict[str, torch.Tensor]
) -> PlateReaderNet:
    """A reader of `layout` holding `model`'s kept channels, with the dropped ones' mean put back."""
    narrow = PlateReaderNet(width=model.width, layout=layout)
    state = {name: value.clone() for name, value in model.state_dict().items()}
    modules = dict(model.named_modules())
    for layer in layers:
        keep = torch.tensor(layer.keep)
        dropped = torch.ones(modules[layer.conv].out_channels, dtype=torch.bool)
        dropped[keep] = False
        reader = modules[layer.reader]
        # The next convolution run over the dropped channels' mean activation map: what they
        # added to its output on average, which the BatchNorm after it now subtracts less of.
        with torch.no_grad():
            mean_map = means[layer.norm] * dropped[:, None, None]
            carried = nn.functional.conv2d(
                mean_map[None], reader.weight, None, reader.stride, reader.padding, reader.dilation
            )[0].mean(dim=(1, 2))
        state[f"{layer.reader_norm}.running_mean"] -= carried
        state[f"{layer.conv}.weight"] = state[f"{layer.conv}.weight"][keep]
        for field in ("weight", "bias", "running_mean", "running_var"):
            state[f"{layer.norm}.{field}"] = state[f"{layer.norm}.{field}"][keep]
        state[f"{layer.reader}.weight"] = state[f"{layer.reader}.weight"][:, keep]
    narrow.load_state_dict(state)
    return narrow.eval()


def agreement(wide: nn.Module, narrow: nn.Module, images: torch.Tensor) -> float:
    """Share of crops both readers read as the same string (greedy decoding)."""
    with torch.no_grad():
        a = greedy_texts(wide.eval()(images).numpy())
        b = greedy_texts(narrow.eval()(images).numpy())
    return float(np.mean([x == y for x, y in zip(a, b, strict=True)]))


def prune_reader(
    source: Path, layout: tuple[int, ...], count: int = 2000, font_dir: str | None = None
) -> tuple[PlateReaderNet, PlateReaderNet, torch.Tensor]:
    """The wide reader of `source`, its pruned copy of `layout`, and the crops that measured it."""
    images = synthetic_batch(count, font_dir=font_dir)
    wide = reader_from_settings(file_network(source))
    load_folded_onnx(wide, source, images[:256])
    names = [_layer_names(entry)[1] for entry in range(len(wide.layout)) if entry != SEQUENCE_ENTRY]
    means = mean_activations(wide, images, names)
    layers = choose_channels(wide, layout, means)
    return wide, pruned_copy(wide, layout, layers, means), images


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--input", type=Path, required=True, help="the wide reader, an FP32 ONNX file")
    parser.add_argument("--layout", required=True, help="channels per layer, e.g. 32-96-128-160-256-192-192")
    parser.add_argument("--output", type=Path, required=True, help="the pruned reader, an FP32 ONNX file")
    parser.add_argument("--count", type=int, default=2000, help="synthetic crops that measure the channels")
    parser.add_argument("--font-dir", default=None)
    args = parser.parse_args(argv)
    try:
        layout = parse_layout(args.layout)
        wide, narrow, images = prune_reader(args.input, layout, args.count, args.font_dir)
    except ValueError as exc:
        parser.error(str(exc))
    export_network(narrow, args.output, training_steps="pruned, not fine-tuned")
    same = agreement(wide, narrow, images)
    print(
        f"wrote {args.output}: layout {format_layout(layout)} from {format_layout(wide.layout)}; "
        f"reads {same:.1%} of {len(images)} synthetic crops as the wide reader does"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
