"""Write the JSON Schemas of the integration payloads to docs/schemas/ (tests check they are current).

python scripts/write_schemas.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pydantic import BaseModel  # noqa: E402

from central.alerts.alert import AlertPayload  # noqa: E402
from common.events import PlateEvent  # noqa: E402
from common.gates import GateDecision  # noqa: E402
from common.messages import WatchlistAck, WatchlistPush  # noqa: E402
from common.watchlists import WatchlistBundle  # noqa: E402

SCHEMAS: dict[str, type[BaseModel]] = {
    "plate_event": PlateEvent,
    "gate_decision": GateDecision,
    "watchlist_push": WatchlistPush,
    "watchlist_bundle": WatchlistBundle,
    "watchlist_ack": WatchlistAck,
    "alert_webhook": AlertPayload,
}
OUT = REPO / "docs" / "schemas"


def rendered() -> dict[Path, str]:
    return {
        OUT / f"{name}.schema.json": json.dumps(model.model_json_schema(), indent=2, ensure_ascii=False)
        + "\n"
        for name, model in SCHEMAS.items()
    }


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for path, text in rendered().items():
        path.write_text(text, encoding="utf-8")
        print(path.relative_to(REPO))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
