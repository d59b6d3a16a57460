"""The bundled sample clip that the demo and end-to-end tests run on."""

from pathlib import Path

SAMPLE_DIR = Path(__file__).resolve().parent
SAMPLE_CLIP = SAMPLE_DIR / "sample_clip.mp4"
SAMPLE_CLIP_TRUTH = SAMPLE_DIR / "sample_clip.json"
