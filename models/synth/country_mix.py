"""How often each country's plates are drawn when a training mix spans Europe.

By traffic alone, Germany's plates would come 160 times as often as Iceland's and a reader or
detector would barely see the small countries' layouts; drawn evenly, France's and Poland's
plates (most of what a European site reads) would be as rare as Liechtenstein's. The square root
of the traffic sits between, and a floor keeps the smallest countries from vanishing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

# Countries with fewer registered cars (millions) are drawn as if they had this many.
MIN_TRAFFIC = 1.0


def sqrt_traffic_shares(traffic: Mapping[str, float]) -> dict[str, float]:
    """Each country's share of the plates drawn (summing to 1), from its traffic in millions of cars."""
    if not traffic:
        raise ValueError("no countries to share plates between")
    roots = {country: math.sqrt(max(cars, MIN_TRAFFIC)) for country, cars in traffic.items()}
    total = sum(roots.values())
    return {country: root / total for country, root in roots.items()}
