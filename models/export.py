"""Export a trained torch model to ONE self-contained ONNX file with descriptive metadata.

    from models.export import export_onnx
    export_onnx(model, example_input, "edge/inference/weights/reader_fp32.onnx", kind="reader",
                metadata={"alphabet": READER_ALPHABET})

The exporter writes weights into the .onnx file itself (no side `.onnx.data`), folds BatchNorm
into the convolutions (eval mode + constant folding), and records `anpr_kind`, the input shape
and any extra metadata in the model's metadata_props, where the runtime can check them.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import onnx
import torch

ModelKind = Literal["reader", "detector", "band"]
OPSET = 17


def export_onnx(
    model: torch.nn.Module,
    example_input: torch.Tensor,
    path: str | Path,
    kind: ModelKind,
    dynamic_batch: bool = True,
    metadata: Mapping[str, str] | None = None,
    input_name: str = "image",
    output_names: tuple[str, ...] = ("output",),
    dynamic_axes: Mapping[str, Mapping[int, str]] | None = None,
) -> Path:
    """Write `model` as a single ONNX file at `path` and return the path. `dynamic_axes`: axes
    other than the batch that the file leaves free (tensor name -> {axis: name})."""
    if kind not in ("reader", "detector", "band"):
        raise ValueError(f"unknown model kind {kind!r}")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    model = model.eval().cpu()
    example_input = example_input.cpu()
    free_axes: dict[str, dict[int, str]] = {}
    for name in (input_name, *output_names):
        axes = {0: "batch"} if dynamic_batch else {}
        axes.update((dynamic_axes or {}).get(name, {}))
        if axes:
            free_axes[name] = axes
    with torch.no_grad(), warnings.catch_warnings():
        # The TorchScript exporter always embeds the weights and needs no onnxscript (not
        # installed); torch marks it deprecated, which is known and not worth a warning per call.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            model,
            (example_input,),
            str(out),
            input_names=[input_name],
            output_names=list(output_names),
            dynamic_axes=free_axes or None,
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
    proto = onnx.load(str(out), load_external_data=True)
    props = {
        "anpr_kind": kind,
        "input_shape": json.dumps(list(example_input.shape[1:])),
        "input_name": input_name,
        **(dict(metadata) if metadata else {}),
    }
    set_metadata(proto, props)
    onnx.checker.check_model(proto)
    onnx.save_model(proto, str(out), save_as_external_data=False)
    side = out.with_name(out.name + ".data")
    if side.exists():
        side.unlink()
    return out


def set_metadata(proto: onnx.ModelProto, props: Mapping[str, str]) -> None:
    """Replace or add metadata_props entries."""
    existing = {p.key: p for p in proto.metadata_props}
    for key, value in props.items():
        if key in existing:
            existing[key].value = str(value)
        else:
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, str(value)


def read_metadata(path: str | Path) -> dict[str, str]:
    proto = onnx.load(str(path), load_external_data=False)
    return {p.key: p.value for p in proto.metadata_props}
