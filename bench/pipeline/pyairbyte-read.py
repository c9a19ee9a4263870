"""PyAirbyte side of bench/pipeline/end-to-end.ts: reads one connector into PyAirbyte's default
cache (DuckDB, under ./.cache of the working directory) and prints one JSON line with the timings.

    python pyairbyte-read.py '{"name": "source-faker", "executable": "/path/bin/source-faker",
                               "config": {...}, "streams": ["users"]}'

`read_s` covers `source.read()` only (connector process, record parsing, cache writes): the
PyAirbyte figure the benchmark compares against. `process_s` adds importing PyAirbyte and
get_source (spec/discover of the connector), for reference.
"""
import importlib.metadata
import json
import sys
import time

started = time.perf_counter()
import airbyte as ab  # noqa: E402  (timed: importing PyAirbyte is part of process_s)

args = json.loads(sys.argv[1])
source = ab.get_source(
    args["name"],
    config=args["config"],
    local_executable=args["executable"],
    streams=args["streams"],
)
cache = ab.get_default_cache()
read_started = time.perf_counter()
result = source.read(cache=cache)
read_s = time.perf_counter() - read_started
records = {name: len(result[name]) for name in args["streams"]}
print(json.dumps({
    "read_s": read_s,
    "process_s": time.perf_counter() - started,
    "records": records,
    "airbyte_version": importlib.metadata.version("airbyte"),
    "cache": type(cache).__name__,
}))
