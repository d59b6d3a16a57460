"""A real agent process for the crash tests: colour models, a looping clip, the encrypted store.

    python agent_process.py CLIP DB KEYFILE

Prints "running" once started; SIGTERM stops it cleanly, SIGKILL is what the tests are about.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

from agent_helpers import colour_models, make_config

from common.crypto import load_store_key
from edge.agent import EdgeAgent
from edge.store import EventStore


def main(clip: str, db: str, key_file: str) -> int:
    root = Path(db).parent
    camera = {"id": "gate", "source": clip, "loop": True, "realtime": True}
    # Every loop of the clip is a new passage of the same plate: no repeat window, quick closing.
    config = make_config(root, [camera], tracking={"min_reads": 2, "repeat_window_s": 0, "max_age_s": 0.1})
    store = EventStore(db, load_store_key(Path(key_file)))  # synchronous=FULL, as in production
    agent = EdgeAgent(config, models=colour_models(), store=store)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    agent.start()
    print("running", flush=True)
    stop.wait()
    agent.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:4]))
