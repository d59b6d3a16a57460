"""The edge agent's configuration: one typed YAML file, validated at load.

Central validates pushed configs against the same model, so a box never receives a config it
would refuse. Defaults run: an empty file gives a working agent on the bundled sample clip.
Secrets (the store key, the MQTT password) are never in this file, only paths to them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from common.gates import GatesConfig, HomeAssistantConfig

ID_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"

# How the reader may see one detected plate (edge.inference.crops cuts them): the detector's box,
# the plate rectified by its predicted corners, and each a little wider and tighter.
CropView = Literal["box", "box_wide", "box_tight", "rectified", "rectified_wide", "rectified_tight"]
CROP_VIEWS: tuple[CropView, ...] = (
    "box", "box_wide", "box_tight", "rectified", "rectified_wide", "rectified_tight"
)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


# The clip bundled with the edge agent (edge/samples/), so that a config without cameras runs.
SAMPLE_SOURCE = "sample:clip"


# The largest frame a channel decodes (a 4K camera). Larger frames are refused and counted as
# decode errors: what a channel holds is a few frames of at most this size, whatever it is sent.
MAX_FRAME_PIXELS = 3840 * 2160


class CaptureSettings(_Section):
    """How a camera's stream is opened and decoded (edge/capture/): defaults suit IP cameras."""

    # pyav decodes H.264/H.265 to YUV and hands the luma plane on, so whole frames are never
    # converted to BGR; opencv (cv2.VideoCapture) converts every frame; auto is pyav where
    # installed, and opencv for USB cameras.
    decoder: Literal["auto", "pyav", "opencv"] = "auto"
    decoder_threads: int = Field(
        default=1, ge=0, le=16, description="decoder threads per camera (0: FFmpeg picks, one per core)"
    )
    rtsp_transport: Literal["tcp", "udp"] = Field(
        default="tcp", description="tcp (interleaved) survives NAT and lossy links; udp has less delay"
    )
    open_timeout_s: float = Field(default=5.0, gt=0, le=120, description="give up connecting after this")
    read_timeout_s: float = Field(default=5.0, gt=0, le=120, description="a stream silent this long is lost")
    reconnect_initial_s: float = Field(default=0.5, gt=0, le=60, description="first wait before reconnecting")
    reconnect_max_s: float = Field(default=30.0, gt=0, le=3600, description="the wait doubles up to this")
    hwaccel: Literal["none", "auto", "vaapi", "qsv"] = Field(
        default="none",
        description="hardware decoding (pyav): auto uses QSV or VAAPI where the box has it, else software",
    )
    hwaccel_device: str | None = Field(
        default=None, description="device for hwaccel, e.g. /dev/dri/renderD128; default: the first"
    )
    # While nothing moves, most of a camera's packets say "no change" in a few hundred bytes, yet
    # decoding them is most of a channel's CPU. `keyframes` then decodes only key frames, and a
    # packet several times the still scene's size (something entered) resumes decoding at once.
    still_decode: Literal["all", "keyframes"] = Field(
        default="all",
        description="keyframes (pyav): while the scene is still, decode only key frames until packets grow",
    )
    max_frame_pixels: int = Field(
        default=MAX_FRAME_PIXELS, ge=64 * 64, le=8192 * 8192,
        description="larger frames are refused (counted as decode errors): bounds a channel's memory",
    )

    @model_validator(mode="after")
    def _backoff_grows(self) -> CaptureSettings:
        if self.reconnect_max_s < self.reconnect_initial_s:
            raise ValueError("reconnect_max_s must be at least reconnect_initial_s")
        return self


class CameraConfig(_Section):
    id: str = Field(pattern=ID_PATTERN, description="channel id, unique on the device")
    source: str = Field(
        min_length=1,
        description=f"rtsp://, http(s)://, a video file path, usb:N for a local camera, or {SAMPLE_SOURCE}",
    )
    enabled: bool = True
    fps_limit: float | None = Field(default=None, gt=0, le=120, description="process at most this rate")
    realtime: bool = Field(default=False, description="pace file sources at their native frame rate")
    loop: bool = Field(default=False, description="restart file sources at the end")
    motion_threshold: float = Field(
        default=0.004, ge=0, le=1, description="fraction of changed pixels that wakes detection; 0 = always"
    )
    roi: tuple[float, float, float, float] | None = Field(
        default=None, description="x1, y1, x2, y2 as fractions of the frame; plates outside are ignored"
    )
    countries: list[str] = Field(default_factory=list, description="country prior for this channel")
    capture: CaptureSettings = Field(default_factory=CaptureSettings, description="decoding and reconnection")
    lat: float | None = Field(default=None, ge=-90, le=90, description="where the camera stands (WGS 84)")
    lon: float | None = Field(default=None, ge=-180, le=180, description="where the camera stands (WGS 84)")

    @model_validator(mode="after")
    def _both_coordinates_or_none(self) -> CameraConfig:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither")
        return self


class OnnxRuntimeSettings(_Section):
    """ONNX Runtime on the CPU: runs on every box (edge/inference/runtimes/onnx_runtime.py)."""

    type: Literal["onnxruntime"] = "onnxruntime"
    threads: int = Field(default=1, ge=1, le=64, description="intra-op threads per model")


class OpenVinoSettings(_Section):
    """Intel's OpenVINO: usually the faster one on x86 CPUs (edge/inference/runtimes/openvino_runtime.py)."""

    type: Literal["openvino"] = "openvino"
    threads: int = Field(default=1, ge=1, le=64, description="inference threads per model")
    # LATENCY runs one request on the given threads; THROUGHPUT splits the CPU into streams,
    # which only pays when many requests are in flight at once (not so for one frame at a time).
    performance_hint: Literal["LATENCY", "THROUGHPUT"] = "LATENCY"
    device: str = Field(
        default="CPU", pattern=r"^[A-Z]+(\.[0-9]+)?$", description="OpenVINO device, e.g. CPU or GPU"
    )


class AutoRuntimeSettings(_Section):
    """OpenVINO on x86 CPUs where it is installed, else ONNX Runtime, each with its defaults."""

    type: Literal["auto"] = "auto"
    threads: int = Field(default=1, ge=1, le=64)


RuntimeSettings = Annotated[
    AutoRuntimeSettings | OnnxRuntimeSettings | OpenVinoSettings, Field(discriminator="type")
]
RUNTIME_TYPES: tuple[str, ...] = ("auto", "onnxruntime", "openvino")


def runtime_settings(runtime: str | RuntimeSettings, threads: int | None = None) -> RuntimeSettings:
    """Settings from a runtime's name (with its defaults) or the settings themselves."""
    if not isinstance(runtime, str):
        return runtime if threads is None else runtime.model_copy(update={"threads": threads})
    if runtime not in RUNTIME_TYPES:
        raise ValueError(f"unknown inference runtime {runtime!r}; choose from {list(RUNTIME_TYPES)}")
    data: dict[str, Any] = {"type": runtime} | ({} if threads is None else {"threads": threads})
    return ModelConfig.model_validate({"runtime": data}).runtime


class ModelConfig(_Section):
    path: Path | None = Field(default=None, description="ONNX file; default: the shipped INT8 model")
    runtime: RuntimeSettings = Field(
        default_factory=AutoRuntimeSettings,
        description="auto, onnxruntime or openvino, by name or as a mapping with its settings",
    )

    @model_validator(mode="before")
    @classmethod
    def _runtime_by_name(cls, data: Any) -> Any:
        """`runtime: openvino` names a runtime with its defaults; configs written before runtimes
        had settings say `backend: NAME` and `threads: N` beside `path`, and still load."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if "backend" in data or "threads" in data:
            if "runtime" in data:
                raise ValueError("give `runtime` alone, not beside the older `backend`/`threads` keys")
            data["runtime"] = {"type": data.pop("backend", "auto")}
            if "threads" in data:
                data["runtime"]["threads"] = data.pop("threads")
        if isinstance(data.get("runtime"), str):
            data["runtime"] = {"type": data["runtime"]}
        return data


class DetectorConfig(ModelConfig):
    score_threshold: float = Field(
        default=0.3, gt=0, lt=1, description="video: a passing plate is seen in many frames, one is enough"
    )
    # A still photo gives one chance: on the real RU photos 0.2 finds 97.4% of plates against 95.6%
    # at 0.3 (INT8), and the reader's validity check keeps the extra boxes out of the results; in
    # video those extra boxes would cost reader calls in every frame for little gain. 0.1 (98.2%)
    # read no more plates end to end, with more wrong outputs and twice the time per photo.
    snapshot_score_threshold: float = Field(
        default=0.2, gt=0, lt=1, description="`recognize` (still images): lower, the reader vets the boxes"
    )
    min_plate_width: int = Field(default=16, ge=4, description="smaller plates are too small to read")
    # A still photo gives one chance, and the detector's boxes are least accurate for plates that
    # are small in its input or sit in a larger box (holder frame, car front). On the real RU
    # photos, a zoomed second look at the 3 strongest boxes that gave no reading read 107 of 114
    # plates against 105 (INT8, with earlier models), for a third more time per photo
    # (edge/inference/second_look.py).
    snapshot_second_looks: int = Field(
        default=3, ge=0, le=20,
        description="`recognize`: this many of the strongest boxes that gave no reading are looked at "
        "again, zoomed (0: off)",
    )
    # Of 1,419 second looks on eu-dev and ru-dev (INT8, ONNX Runtime), the 914 at boxes read as
    # fewer than 3 glyphs (the shortest plate of the grammar) read no labelled plate; the 13
    # readings of labelled plates that second looks gave came from boxes read as 4-8 glyphs.
    # Leaving those boxes out took the median photo from 66 to 56 ms on eu-dev and from 50 to
    # 41 ms on ru-dev (with the narrow view's skip of plates read surely; same plates read).
    snapshot_second_look_min_glyphs: int = Field(
        default=3, ge=0, le=20,
        description="`recognize`: a box that gave no reading is looked at again only if read as at "
        "least this many glyphs (0: any box)",
    )
    # A 12 MP photo shrinks ~10x into the detector's input, where a 120 px plate is too small to
    # find (edge/inference/tiles.py).
    snapshot_tile_above_px: int = Field(
        default=2600, ge=0,
        description="`recognize`: photos whose longer side is over this are also searched in "
        "overlapping tiles (0: never)",
    )
    # A 68 px plate in a 1920 px photo is 15 px wide in the detector's input, at the edge of what
    # it finds; on eu-dev this read 12 more of 312 plates and lost none (edge/inference/tiles.py).
    snapshot_fine_search: bool = Field(
        default=True,
        description="`recognize`: a photo where nothing sure was read is searched again in tiles each "
        "shrunk half as much (photos from about 832x640 to 2600x1950 px)",
    )
    # A plate cut by the photo's edge or a sticker read as a plate at 0.7-0.8 used to keep the
    # finer search away from the clear plate beside it (eu-dev: 9 % of photos hold no reading
    # this sure; 2 % of ru-dev's).
    snapshot_fine_search_below: float = Field(
        default=0.9, ge=0, le=1,
        description="the finer search also runs on a photo whose surest reading is below this",
    )
    # A close-up at a steep view can give the detector no box upright and a fair one turned a few
    # degrees (edge/inference/turned_search.py).
    snapshot_turned_search: bool = Field(
        default=True,
        description="`recognize`: a photo where still nothing sure was read is searched again turned "
        "12 deg each way",
    )


class BandReaderConfig(_Section):
    """The EU band reader (edge.inference.band_reader), run on every crop the plate reader reads;
    it uses the reader's runtime."""

    enabled: bool = Field(default=True, description="read the EU band's country code to settle the country")
    path: Path | None = Field(default=None, description="ONNX file; default: the shipped band model")
    min_confidence: float = Field(
        default=0.3, gt=0, le=1, description="weaker band readings change nothing"
    )
    boost: float = Field(
        default=1000.0, ge=1, le=1e9, description="factor on the prior of the country a band names"
    )


class ReaderConfig(ModelConfig):
    batch_size: int = Field(default=8, ge=1, le=64)
    max_wait_ms: float = Field(default=10.0, ge=0, le=1000, description="how long a batch waits to fill")
    beam_width: int = Field(default=10, ge=1, le=100)
    countries: list[str] = Field(default_factory=list, description="device-wide country prior, e.g. [RU]")
    # Video reads two views per frame and keeps readings from 0.3 with require_valid. The real RU
    # photos read that way (RU site, detector at 0.1) gave 100 of 114 plates right (INT8) and 94%
    # of outputs correct, although the detector's boxes alone are under 5% precise at 0.1
    # (models/MODEL_CARD.md).
    min_confidence: float = Field(default=0.3, ge=0, le=1, description="weaker readings make no event")
    require_valid: bool = Field(
        default=True, description="readings that fit no known plate format make no event or result"
    )
    views: list[CropView] = Field(
        default_factory=lambda: ["box", "rectified"], min_length=1,
        description="crops of each detection the reader reads; the most probable valid reading wins",
    )
    # Video reads a passing plate in many frames and votes, so it keeps to two views per frame.
    extra_views: list[CropView] = Field(
        default_factory=list, description="also read, in video, when `views` found a plausible plate"
    )
    # A still photo gives one chance. On the real RU photos, reading each plausible plate six ways
    # and keeping the most probable valid reading at 0.5 read 104 of 114 plates right (INT8; 105
    # FP32) against 100 (101) from two views at 0.3, with fewer wrong outputs (4 against 6-7). The
    # threshold is higher because the best of six readings is more confident than the best of two.
    snapshot_extra_views: list[CropView] = Field(
        default_factory=lambda: ["box_wide", "box_tight", "rectified_wide", "rectified_tight"],
        description="also read, in still images, when `views` found a plausible plate",
    )
    snapshot_reach_past_ends: bool = Field(
        default=True,
        description="in still images, also read the box of each valid reading at 0.3 or more carried 15% "
        "past each end, and keep a valid reading that only adds glyphs there (a box cut short drops a "
        "plate's end)",
    )
    snapshot_min_confidence: float = Field(
        default=0.5, ge=0, le=1, description="`recognize` (still images): weaker readings are not output"
    )
    band: BandReaderConfig = Field(default_factory=BandReaderConfig)

    @field_validator("views", "extra_views", "snapshot_extra_views")
    @classmethod
    def _distinct_views(cls, value: list[CropView]) -> list[CropView]:
        if len(set(value)) != len(value):
            raise ValueError("each crop view may be named once")
        return value


class TrackingConfig(_Section):
    iou_threshold: float = Field(default=0.2, gt=0, lt=1)
    max_age_s: float = Field(default=1.5, gt=0, description="a track unseen this long is closed")
    min_reads: int = Field(default=2, ge=1, description="readings needed before a track makes an event")
    repeat_window_s: float = Field(
        default=30.0, ge=0, description="the same plate on the same channel within this window is one event"
    )


class StoreConfig(_Section):
    path: Path = Path("var/edge/events.db")
    key_file: Path = Field(
        default=Path("var/edge/store.key"),
        description="32-byte key file (or systemd credential path); created on first run if missing",
    )
    retention_days: float = Field(default=30.0, gt=0)
    max_disk_mb: float = Field(default=2048.0, gt=0, description="quota for the database and its images")
    keep_thumbnails: bool = True


class MqttConnection(_Section):
    """How to reach and log in to the broker; shared by the edge agent and central."""

    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    username: str | None = None
    password_file: Path | None = None
    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    keepalive_s: int = Field(default=30, ge=5, le=3600)

    @model_validator(mode="after")
    def _client_key_with_certificate(self) -> MqttConnection:
        if self.cert_file and not self.key_file:
            raise ValueError("cert_file needs key_file")
        return self


class MqttConfig(MqttConnection):
    enabled: bool = False
    max_inflight: int = Field(default=20, ge=1, le=1000, description="event publishes awaiting PUBACK")
    stats_interval_s: float = Field(default=60.0, gt=0)
    receipt_timeout_s: float = Field(
        default=30.0, gt=0, le=3600, description="an event with no central receipt this long is sent again"
    )
    receipt_timeout_max_s: float = Field(
        default=600.0, gt=0, le=86400, description="the resend delay doubles per try up to this"
    )
    max_unconfirmed: int = Field(
        default=2000, ge=1, le=20000,
        description="events sent but not yet confirmed by central; at the limit new sends wait",
    )

    @model_validator(mode="after")
    def _receipt_timeouts_ordered(self) -> MqttConfig:
        if self.receipt_timeout_max_s < self.receipt_timeout_s:
            raise ValueError("mqtt.receipt_timeout_max_s must not be below mqtt.receipt_timeout_s")
        return self


class HttpConfig(_Section):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=9108, ge=0, le=65535)


class LoggingConfig(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    mask_plates: bool = Field(default=True, description="plates are personal data: mask them in logs")


def _default_cameras() -> list[CameraConfig]:
    return [CameraConfig(id="sample", source=SAMPLE_SOURCE)]


class EdgeConfig(_Section):
    version: int = Field(default=1, ge=1, le=2**31 - 1, description="bumped by central on every config push")
    site_id: str = Field(default="site1", pattern=ID_PATTERN)
    device_id: str = Field(default="edge1", pattern=ID_PATTERN)
    cameras: list[CameraConfig] = Field(default_factory=_default_cameras, max_length=64)
    detector: DetectorConfig = Field(default_factory=DetectorConfig)
    reader: ReaderConfig = Field(default_factory=ReaderConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    mqtt: MqttConfig = Field(default_factory=MqttConfig)
    http: HttpConfig = Field(default_factory=HttpConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    gate_control: GatesConfig = Field(default_factory=GatesConfig, description="gates opened by watchlists")
    home_assistant: HomeAssistantConfig = Field(default_factory=HomeAssistantConfig)

    @model_validator(mode="after")
    def _gates_watch_known_cameras(self) -> EdgeConfig:
        cameras = {c.id for c in self.cameras}
        for gate in self.gate_control.gates:
            unknown = [c for c in gate.channels if c not in cameras]
            if unknown:
                raise ValueError(f"gate {gate.id!r} names cameras that are not configured: {unknown}")
        return self

    @field_validator("cameras")
    @classmethod
    def _unique_camera_ids(cls, cameras: list[CameraConfig]) -> list[CameraConfig]:
        seen: set[str] = set()
        for camera in cameras:
            if camera.id in seen:
                raise ValueError(f"camera id {camera.id!r} is used twice")
            seen.add(camera.id)
        return cameras


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file and the field."""


def _format_validation_error(source: str, exc: ValidationError) -> str:
    lines = [f"{source}: invalid configuration"]
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        lines.append(f"  {where}: {error['msg']}")
    return "\n".join(lines)


def parse_edge_config(data: Any, source: str = "<config>") -> EdgeConfig:
    """Validate already-parsed YAML/JSON data; ConfigError names every bad field."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping, not {type(data).__name__}")
    try:
        return EdgeConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(source, exc)) from exc


def load_edge_config(path: str | Path | None) -> EdgeConfig:
    """Read and validate a YAML config file; None gives the defaults."""
    if path is None:
        return EdgeConfig()
    config_path = Path(path)
    try:
        text = config_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{config_path}: cannot read config: {exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{config_path}: not valid YAML: {exc}") from exc
    return parse_edge_config(data, str(config_path))
