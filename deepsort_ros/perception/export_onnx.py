"""Command line: export a torch ReID model to ONNX for the ``onnx`` appearance backend.

    python -m deepsort_ros.perception.export_onnx --model osnet_x0_25 --weights osnet_x0_25_msmt17.pth \
        --output models/osnet_x0_25.onnx

Kept out of the package's imports so ``python -m`` runs it cleanly.
"""
from __future__ import annotations

import argparse
import sys

from .onnx_embedder import export_onnx
from .torch_embedder import TorchEmbedder


def main(argv=None) -> int:
    """Command line: export a torch ReID model (architecture + weights, TorchScript or checkpoint) to ONNX."""
    parser = argparse.ArgumentParser(description="Export a torch ReID model to ONNX for the onnx backend.")
    parser.add_argument("--model", required=True, help="architecture name, TorchScript file or checkpoint")
    parser.add_argument("--weights", help="checkpoint for an architecture name")
    parser.add_argument("--arch", help="architecture of a checkpoint whose name does not contain it")
    parser.add_argument("--random-init", action="store_true", help="random weights (tests and timing only)")
    parser.add_argument("--input-height", type=int, default=256)
    parser.add_argument("--input-width", type=int, default=128)
    parser.add_argument("--opset", type=int, default=17)
    parser.add_argument("--output", required=True, help="ONNX file to write")
    args = parser.parse_args(argv)
    try:
        embedder = TorchEmbedder(args.model, weights=args.weights, arch=args.arch, random_init=args.random_init,
                                 device="cpu", input_height=args.input_height, input_width=args.input_width)
    except ValueError as error:
        print(f"export_onnx: {error}", file=sys.stderr)
        return 2
    print(f"wrote {export_onnx(embedder, args.output, opset=args.opset)} ({embedder.description}, {embedder.dim}-d)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
