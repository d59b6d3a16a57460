"""The edge config: typed, validated at load, errors that name the field, defaults that run."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.config import SAMPLE_SOURCE, ConfigError, EdgeConfig, load_edge_config, parse_edge_config


def test_defaults_run_on_the_bundled_sample_clip() -> None:
    config = load_edge_config(None)
    assert [camera.source for camera in config.cameras] == [SAMPLE_SOURCE]
    assert config.reader.batch_size == 8
    assert config.logging.mask_plates is True


def test_an_empty_file_gives_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "edge.yaml"
    path.write_text("")
    assert load_edge_config(path) == EdgeConfig()


def test_a_full_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "edge.yaml"
    path.write_text(
        """
site_id: depot
device_id: gate-2
cameras:
  - id: entry
    source: rtsp://10.0.0.5/stream1
    countries: [RU, KZ]
  - id: exit
    source: usb:0
reader: {beam_width: 5, countries: [RU]}
mqtt: {enabled: true, host: central.local, port: 8883, tls: true}
"""
    )
    config = load_edge_config(path)
    assert [c.id for c in config.cameras] == ["entry", "exit"]
    assert config.mqtt.port == 8883
    assert config.reader.beam_width == 5


def test_errors_name_the_file_and_the_field(tmp_path: Path) -> None:
    path = tmp_path / "edge.yaml"
    path.write_text("reader:\n  batch_size: 0\ncameras:\n  - id: a\n    source: x\n    colour: red\n")
    with pytest.raises(ConfigError) as excinfo:
        load_edge_config(path)
    message = str(excinfo.value)
    assert str(path) in message
    assert "reader.batch_size" in message
    assert "cameras.0.colour" in message


def test_unknown_top_level_keys_are_refused() -> None:
    with pytest.raises(ConfigError, match="detectr"):
        parse_edge_config({"detectr": {}})


def test_duplicate_camera_ids_are_refused() -> None:
    cameras = [{"id": "a", "source": "x"}, {"id": "a", "source": "y"}]
    with pytest.raises(ConfigError, match="used twice"):
        parse_edge_config({"cameras": cameras})


def test_not_yaml_and_not_a_mapping_are_clear_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("cameras: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_edge_config(broken)
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_edge_config(listing)


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config"):
        load_edge_config(tmp_path / "nope.yaml")


def test_camera_coordinates_are_optional_and_checked() -> None:
    located = parse_edge_config({"cameras": [{"id": "gate", "source": "x", "lat": 55.75, "lon": 37.62}]})
    assert (located.cameras[0].lat, located.cameras[0].lon) == (55.75, 37.62)
    assert parse_edge_config({"cameras": [{"id": "gate", "source": "x"}]}).cameras[0].lat is None
    with pytest.raises(ConfigError, match="lat"):
        parse_edge_config({"cameras": [{"id": "gate", "source": "x", "lat": 95, "lon": 0}]})
    with pytest.raises(ConfigError, match="both lat and lon"):
        parse_edge_config({"cameras": [{"id": "gate", "source": "x", "lat": 55.0}]})
