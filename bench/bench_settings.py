"""Settings for the benchmarks: production settings plus a URLconf with a bare comparison view.

The bare view lives only here, so production code serves no benchmark endpoint.
"""

from playwave.settings import *  # noqa: F403

ROOT_URLCONF = "bench.bench_urls"

# Every benchmark client is one loopback address: the per-IP limit would cap its offered load.
PLAYWAVE_RATE_PER_IP = ""
