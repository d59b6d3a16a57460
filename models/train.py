"""Train a model: `python -m models.train ocr|detector [options]`.

Each model keeps its own recipe; this entry point only dispatches so both share one command.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] not in {"ocr", "detector"}:
        print("usage: python -m models.train ocr|detector [--help]", file=sys.stderr)
        return 2
    if args[0] == "ocr":
        from models.reader.train import main as train_main
    else:
        from models.detector.train import main as train_main
    return train_main(args[1:])


if __name__ == "__main__":
    raise SystemExit(main())
