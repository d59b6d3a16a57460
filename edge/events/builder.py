"""From a judged passage to the PlateEvent that is stored and published."""

from __future__ import annotations

import cv2
import numpy as np

from common.events import ModelVersions, PlateEvent
from edge.tracking.passages import Passage
from edge.tracking.tracker import FrameImage

CROP_JPEG_QUALITY = 90
THUMBNAIL_WIDTH = 640
THUMBNAIL_JPEG_QUALITY = 70


def encode_jpeg(image: np.ndarray, quality: int) -> bytes:
    # Crops are views into the frame; the encoder wants contiguous pixels.
    ok, buffer = cv2.imencode(".jpg", np.ascontiguousarray(image), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError(f"cannot encode a {image.shape} image as JPEG")
    return buffer.tobytes()


def thumbnail(frame: np.ndarray, width: int = THUMBNAIL_WIDTH) -> np.ndarray:
    h, w = frame.shape[:2]
    if w <= width:
        return frame
    return cv2.resize(frame, (width, round(h * width / w)), interpolation=cv2.INTER_AREA)


class EventFactory:
    def __init__(self, site_id: str, device_id: str, models: ModelVersions, keep_thumbnails: bool) -> None:
        self.site_id = site_id
        self.device_id = device_id
        self.models = models
        self.keep_thumbnails = keep_thumbnails

    def build(self, channel_id: str, passage: Passage) -> PlateEvent:
        best = passage.best
        reading = passage.vote.reading
        x1, y1, x2, y2 = best.detection.box
        frame = best.frame_image() if self.keep_thumbnails else None
        h, w = frame.shape[:2] if frame is not None else _frame_hw(best.frame)
        box = (
            int(max(0, min(w - 1, round(x1)))),
            int(max(0, min(h - 1, round(y1)))),
            int(max(0, min(w, round(x2)))),
            int(max(0, min(h, round(y2)))),
        )
        return PlateEvent(
            site_id=self.site_id,
            device_id=self.device_id,
            channel_id=channel_id,
            captured_at=best.captured_at,
            first_seen=passage.track.first_seen,
            last_seen=passage.track.last_seen,
            plate=reading,
            confidence=reading.confidence,
            box=box,
            frames=len(passage.track.readings),
            crop_jpeg=encode_jpeg(best.crop, CROP_JPEG_QUALITY) if best.crop.size else None,
            thumbnail_jpeg=(
                encode_jpeg(thumbnail(frame), THUMBNAIL_JPEG_QUALITY) if frame is not None else None
            ),
            models=self.models,
        )


def _frame_hw(frame: np.ndarray | FrameImage) -> tuple[int, int]:
    """(height, width) of a frame without converting it."""
    return (frame.shape[0], frame.shape[1]) if isinstance(frame, np.ndarray) else frame.hw
