"""Snapshot mode on colour-plate images: one result per image, unreadable files as errors."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from edge_scene import ColourPlateDetector, ColourPlateReader, Passing, render_frame

from common.config import DetectorConfig, ReaderConfig
from common.plates.reading import PlateReading
from edge.inference.protocols import PlateDetection
from edge.inference.tiles import fine_windows
from edge.recognize import (
    RecognizedPlate,
    SnapshotRecognizer,
    distinct_plates,
    format_table,
    load_image,
    surer_of_each,
)


def _recognizer() -> SnapshotRecognizer:
    return SnapshotRecognizer(ColourPlateDetector(), ColourPlateReader(), DetectorConfig(), 0.5)


def test_images_and_directories_give_one_result_per_image_and_errors_do_not_stop_the_run(
    tmp_path: Path,
) -> None:
    good = tmp_path / "shots"
    good.mkdir()
    two = render_frame(10, [Passing("blue", 0, 20, y=50), Passing("red", 5, 20, y=250)])
    cv2.imwrite(str(good / "a.jpg"), two)
    cv2.imwrite(str(good / "b.png"), render_frame(0, []))
    (good / "notes.txt").write_text("not an image")
    jpeg = (good / "a.jpg").read_bytes()
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(jpeg[: len(jpeg) // 2])
    empty = tmp_path / "empty.jpg"
    empty.touch()
    garbage = tmp_path / "garbage.png"
    garbage.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 50)

    paths = [str(good), str(truncated), str(empty), str(garbage), str(tmp_path / "missing.jpg")]
    results = [r.to_dict() for r in _recognizer().run(paths)]

    assert [r["image"] for r in results] == [
        str(good / "a.jpg"),
        str(good / "b.png"),
        *paths[1:],
    ]
    first = results[0]
    assert set(first) == {"image", "plates", "ms"}
    assert [p["latin"] for p in first["plates"]] == ["A123BC77", "O789PT50"]  # left to right
    plate = first["plates"][0]
    assert set(plate) == {"text", "latin", "confidence", "box", "country", "format"}
    x1, y1, x2, y2 = plate["box"]
    assert 0 <= x1 < x2 <= 640 and 0 <= y1 < y2 <= 360
    assert results[1]["plates"] == []
    assert results[2]["error"] == "truncated JPEG (no end-of-image marker)"
    assert results[3]["error"] == "empty file (0 bytes)"
    assert results[4]["error"] == "not a decodable image: PNG without an IHDR header"
    assert results[5]["error"] == "file not found"


def test_boxes_are_in_the_image_pixel_coordinates(tmp_path: Path) -> None:
    frame = render_frame(0, [Passing("green", 0, 10, y=100)])
    plates = _recognizer().recognize(frame)
    assert len(plates) == 1 and plates[0].box == (20, 100, 121, 125)


def test_the_table_names_each_plate_and_each_failure(tmp_path: Path) -> None:
    image = tmp_path / "x.png"
    cv2.imwrite(str(image), render_frame(0, [Passing("red", 0, 10)]))
    lines = list(format_table(_recognizer().run([str(image), str(tmp_path / "y.jpg")])))
    assert "А123ВС77" in lines[1] and "RU/standard" in lines[1]
    assert "error: file not found" in lines[2]


def test_load_image_reads_a_good_file(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "ok.jpg"), render_frame(0, []))
    assert load_image(str(tmp_path / "ok.jpg")).shape == (360, 640, 3)


def test_a_device_config_gives_still_images_their_own_views_and_confidence() -> None:
    reader_config = ReaderConfig(snapshot_min_confidence=0.6, snapshot_extra_views=["box_wide"])
    recognizer = SnapshotRecognizer.from_config(
        ColourPlateDetector(), ColourPlateReader(), DetectorConfig(), reader_config
    )
    assert recognizer.min_confidence == 0.6
    assert recognizer.views == ("box", "rectified") and recognizer.extra_views == ("box_wide",)
    override = SnapshotRecognizer.from_config(
        ColourPlateDetector(), ColourPlateReader(), DetectorConfig(), reader_config, min_confidence=0.2
    )
    assert override.min_confidence == 0.2


def test_a_plausible_plate_is_read_again_in_the_extra_views() -> None:
    reader = ColourPlateReader(confidence=0.95)
    recognizer = SnapshotRecognizer.from_config(
        ColourPlateDetector(), reader, DetectorConfig(), ReaderConfig()
    )
    plates = recognizer.recognize(render_frame(10, [Passing("blue", 0, 20, y=50)]))
    assert len(plates) == 1
    # The colour detector gives no corners: the box views only, box first, then wide and tight,
    # then the box carried past its left end (a Russian plate is not carried past its region box).
    assert reader.batches == [1, 2, 1]


class _OffsetFirstLook(ColourPlateDetector):
    """On the whole image, boxes land one plate width to the right of the plate (no plate in the
    crop); on a smaller window the colour detector's exact box."""

    def detect(self, frame):  # type: ignore[no-untyped-def]
        found = super().detect(frame)
        if frame.shape[:2] != (360, 640):
            return found
        return [
            PlateDetection((x1 + (x2 - x1), y1, x2 + (x2 - x1), y2), d.score)
            for d in found
            for x1, y1, x2, y2 in [d.box]
        ]


class _GlyphsBesidePlates(ColourPlateReader):
    """Reads a crop with no plate in it as `glyphs` that are no plate (a badge, a sticker)."""

    def __init__(self, glyphs: str) -> None:
        super().__init__()
        self.glyphs = glyphs

    def _read_one(self, crop: np.ndarray, wrong: bool) -> PlateReading:
        reading = super()._read_one(crop, wrong)
        return reading if reading.latin else PlateReading(self.glyphs, self.glyphs, 0.01, valid=False)


def test_a_box_that_gave_no_reading_is_looked_at_again_zoomed() -> None:
    frame = render_frame(0, [Passing("green", 0, 10, y=100)])
    off = SnapshotRecognizer.from_config(
        _OffsetFirstLook(),
        _GlyphsBesidePlates("AB12"),
        DetectorConfig(snapshot_second_looks=0, snapshot_turned_search=False),
        ReaderConfig(),
    )
    assert off.recognize(frame) == []
    on = SnapshotRecognizer.from_config(
        _OffsetFirstLook(), _GlyphsBesidePlates("AB12"), DetectorConfig(), ReaderConfig()
    )
    plates = on.recognize(frame)
    assert [(p.latin, p.box) for p in plates] == [("E456KM99", (20, 100, 121, 125))]


@pytest.mark.parametrize(("glyphs", "min_glyphs", "looked_again"), [
    ("", 3, False), ("A1", 3, False), ("AB1", 3, True), ("", 0, True),
])
def test_only_a_box_read_as_enough_glyphs_is_looked_at_again(
    glyphs: str, min_glyphs: int, looked_again: bool
) -> None:
    """A box read as fewer glyphs than the shortest plate holds no plate text a zoom would
    complete (on the real photo sets none did), so it is not worth the detector's second run."""
    detector = _OffsetFirstLook()
    recognizer = SnapshotRecognizer.from_config(
        detector,
        _GlyphsBesidePlates(glyphs),
        DetectorConfig(snapshot_second_look_min_glyphs=min_glyphs, snapshot_turned_search=False,
                       snapshot_fine_search=False),
        ReaderConfig(),
    )
    plates = recognizer.recognize(render_frame(0, [Passing("green", 0, 10, y=100)]))
    assert [p.latin for p in plates] == (["E456KM99"] if looked_again else [])
    assert detector.calls == (2 if looked_again else 1)


def test_a_plate_read_at_once_is_not_looked_at_again() -> None:
    detector = ColourPlateDetector()
    recognizer = SnapshotRecognizer.from_config(
        detector, ColourPlateReader(), DetectorConfig(), ReaderConfig()
    )
    assert len(recognizer.recognize(render_frame(0, [Passing("green", 0, 10, y=100)]))) == 1
    assert detector.calls == 1


class _SmallFramesOnly(ColourPlateDetector):
    """Finds plates only in frames no wider than a fine tile: a plate too small in the whole view."""

    def detect(self, frame):  # type: ignore[no-untyped-def]
        found = super().detect(frame)
        return found if frame.shape[1] <= 832 else []


def _large_photo() -> np.ndarray:
    photo = np.zeros((1280, 1920, 3), np.uint8)
    photo[700:1060, 1100:1740] = render_frame(0, [Passing("green", 0, 10, y=100)])
    return photo


def test_a_photo_where_nothing_was_read_is_searched_again_in_finer_tiles() -> None:
    detector = _SmallFramesOnly()
    on = SnapshotRecognizer.from_config(detector, ColourPlateReader(), DetectorConfig(), ReaderConfig())
    plates = on.recognize(_large_photo())
    assert [(p.latin, p.box) for p in plates] == [("E456KM99", (1120, 800, 1221, 825))]
    assert detector.calls == 1 + len(fine_windows((1280, 1920)))
    off = SnapshotRecognizer.from_config(
        _SmallFramesOnly(),
        ColourPlateReader(),
        DetectorConfig(snapshot_fine_search=False, snapshot_turned_search=False),
        ReaderConfig(),
    )
    assert off.recognize(_large_photo()) == []


def test_a_photo_with_a_reading_is_not_searched_again() -> None:
    detector = ColourPlateDetector()
    recognizer = SnapshotRecognizer.from_config(
        detector, ColourPlateReader(), DetectorConfig(), ReaderConfig()
    )
    assert len(recognizer.recognize(_large_photo())) == 1
    assert detector.calls == 1


class _LeftHalfInWholeView(ColourPlateDetector):
    """In the whole view, finds only the plates of the photo's left half (the right one is too small)."""

    def detect(self, frame):  # type: ignore[no-untyped-def]
        found = super().detect(frame)
        return [d for d in found if d.box[0] < 900] if frame.shape[1] > 832 else found


def _photo_with_a_second_plate() -> np.ndarray:
    photo = _large_photo()
    photo[200:560, 100:740] = render_frame(0, [Passing("blue", 0, 10, y=100)])
    return photo


@pytest.mark.parametrize(("confidence", "searched"), [(0.8, True), (0.95, False)])
def test_a_photo_whose_readings_are_all_unsure_is_searched_again(confidence: float, searched: bool) -> None:
    # A plate cut by the photo's edge or a sticker read at 0.7-0.8 must not hide the clear plate
    # the whole view was too coarse to find.
    recognizer = SnapshotRecognizer.from_config(
        _LeftHalfInWholeView(), ColourPlateReader(confidence), DetectorConfig(), ReaderConfig()
    )
    plates = recognizer.recognize(_photo_with_a_second_plate())
    expected = ["O789PT50", "E456KM99"] if searched else ["O789PT50"]
    assert [p.latin for p in plates] == expected  # each plate once, left to right


class _OffsetInTiles(ColourPlateDetector):
    """Finds nothing in the whole photo, boxes beside the plate in the finer tiles, and the exact
    box in the small window of a second look."""

    def detect(self, frame):  # type: ignore[no-untyped-def]
        if frame.shape[1] > 832:
            return []
        found = super().detect(frame)
        if frame.shape[1] < 600:
            return found
        return [PlateDetection((x1 + (x2 - x1), y1, x2 + (x2 - x1), y2), d.score) for d in found
                for x1, y1, x2, y2 in [d.box]]


def test_boxes_of_the_finer_search_that_gave_no_reading_are_looked_at_again_zoomed() -> None:
    on = SnapshotRecognizer.from_config(
        _OffsetInTiles(), _GlyphsBesidePlates("AB12"), DetectorConfig(), ReaderConfig()
    )
    plates = on.recognize(_large_photo())
    assert [(p.latin, p.box) for p in plates] == [("E456KM99", (1120, 800, 1221, 825))]
    off = SnapshotRecognizer.from_config(
        _OffsetInTiles(), _GlyphsBesidePlates("AB12"), DetectorConfig(snapshot_second_looks=0), ReaderConfig()
    )
    assert off.recognize(_large_photo()) == []


def _plate(latin: str, confidence: float, box: tuple[int, int, int, int]) -> RecognizedPlate:
    return RecognizedPlate(latin, latin, confidence, box, "RU", "standard")


def test_a_plate_read_in_two_boxes_one_inside_the_other_is_output_once() -> None:
    long_box = _plate("B127GTA", 0.985, (40, 340, 178, 369))
    short_box = _plate("B127GTA", 0.926, (40, 343, 114, 355))  # 22 % of the long box: IoU 0.22
    assert distinct_plates([short_box, long_box]) == [long_box]


def test_plates_that_only_share_a_text_or_only_overlap_are_all_kept() -> None:
    plate = _plate("E456KM99", 0.9, (100, 100, 200, 125))
    elsewhere = _plate("E456KM99", 0.8, (600, 100, 700, 125))  # the same plate seen again, e.g. a mirror
    overlapping = _plate("E456KM9", 0.95, (100, 100, 180, 125))  # another reading of the box
    assert set(distinct_plates([plate, elsewhere, overlapping])) == {plate, elsewhere, overlapping}


def test_a_later_search_replaces_an_unsure_reading_of_the_same_plate_only_with_a_sure_one() -> None:
    swollen = _plate("IH18JZ", 0.61, (98, 430, 280, 527))  # a second look's box, half car
    tight = _plate("W178JZ", 0.98, (115, 438, 234, 504))
    assert surer_of_each([swollen], [tight], sure=0.9) == [tight]
    held = _plate("PH20CNP", 0.70, (691, 396, 778, 420))
    unsure = _plate("PH20CNF", 0.75, (692, 397, 770, 418))
    assert surer_of_each([held], [unsure], sure=0.9) == [held]
    sure_held = _plate("B157KRI", 0.95, (10, 10, 110, 35))
    assert surer_of_each([sure_held], [_plate("B187KRI", 0.92, (12, 10, 110, 35))], sure=0.9) == [sure_held]
    elsewhere = _plate("E456KM99", 0.5, (400, 100, 500, 125))
    assert surer_of_each([held], [elsewhere], sure=0.9) == [held, elsewhere]


class _AlsoALongBox(ColourPlateDetector):
    """Finds each plate twice: its own box, and one reaching a plate's width past its right end."""

    def detect(self, frame):  # type: ignore[no-untyped-def]
        found = super().detect(frame)
        return found + [PlateDetection((x1, y1, x2 + (x2 - x1), y2), d.score * 0.9) for d in found
                        for x1, y1, x2, y2 in [d.box]]


def test_recognize_outputs_a_plate_found_in_two_nested_boxes_once() -> None:
    recognizer = SnapshotRecognizer.from_config(
        _AlsoALongBox(), ColourPlateReader(), DetectorConfig(), ReaderConfig()
    )
    plates = recognizer.recognize(_large_photo())
    assert [p.latin for p in plates] == ["E456KM99"]


class _TurnedPhotosOnly(ColourPlateDetector):
    """Finds plates only in a photo turned from upright (its canvas is larger than the photo's)."""

    def detect(self, frame):  # type: ignore[no-untyped-def]
        found = super().detect(frame)
        return found if frame.shape[:2] != (360, 640) else []


def test_a_photo_where_still_nothing_was_read_is_searched_again_turned() -> None:
    frame = render_frame(0, [Passing("green", 0, 10, y=100)])
    detector = _TurnedPhotosOnly()
    on = SnapshotRecognizer.from_config(detector, ColourPlateReader(), DetectorConfig(), ReaderConfig())
    plates = on.recognize(frame)
    assert [p.latin for p in plates] == ["E456KM99"]  # read once, though both turns found it
    # The box turned back holds the plate (20..121 x 100..125) and no more than its turn adds.
    x1, y1, x2, y2 = plates[0].box
    assert 0 < x1 <= 20 and 0 < y1 <= 100 and 121 <= x2 < 150 and 125 <= y2 < 160
    assert detector.calls == 1 + 2  # upright, then turned each way
    off = SnapshotRecognizer.from_config(
        _TurnedPhotosOnly(), ColourPlateReader(), DetectorConfig(snapshot_turned_search=False), ReaderConfig()
    )
    assert off.recognize(frame) == []
