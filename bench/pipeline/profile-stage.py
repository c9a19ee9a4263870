"""Where the stage task's time goes: replays the SQL of packages/runner/src/tasks/stage-stream.ts,
step by step, on raw NDJSON shaped like the test connector's `users` stream as extract writes it
(one record's data a line), and times each step beside a one-pass alternative.

Runs with the DuckDB that PyAirbyte's virtualenv brings (Python DuckDB; Sluice uses the Node
binding of DuckDB 1.5: same engine, a different minor version, so read the figures as shares of
the stage's time rather than as its exact duration):

    <work-dir>/pyairbyte/bin/python bench/pipeline/profile-stage.py [records] [threads]
"""
import json
import os
import shutil
import sys
import tempfile
import time

import duckdb

records = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
# The users stream's columns as stage derives them from its JSON schema.
COLUMNS = [("id", "long"), ("seq", "long"), ("name", "string"), ("email", "string"), ("updated_at", "timestamptz"), ("payload", "string")]


def typed(c, t):
    s = f"json_extract_string(\"{c}\", '$')"
    return {"long": f"TRY_CAST({s} AS BIGINT)", "string": s, "timestamptz": f"TRY_CAST({s} AS TIMESTAMPTZ)"}[t]


def bad(c, t):
    """A value that is present but does not fit its type (stage-stream.ts's mismatch rule)."""
    return f"(\"{c}\" IS NOT NULL AND json_type(\"{c}\") <> 'NULL' AND {typed(c, t)} IS NULL)"


work = tempfile.mkdtemp(prefix="sluice-profile-stage-")
try:
    raw = os.path.join(work, "raw-0.jsonl")
    with open(raw, "w") as f:
        for seq in range(1, records + 1):
            f.write(json.dumps({"id": seq, "seq": seq, "name": "user %d" % seq, "email": "u%d@example.com" % seq,
                                "updated_at": "2024-01-01T00:00:00Z", "payload": None}, separators=(",", ":")) + "\n")
    db = duckdb.connect(":memory:", config={"threads": threads})
    cols_json = ", ".join(f"'{c}': 'JSON'" for c, _ in COLUMNS)
    source = f"SELECT * FROM read_json(['{raw}'], format = 'newline_delimited', maximum_object_size = 134217728, columns = {{{cols_json}}})"
    typed_cols = ", ".join(f"{typed(c, t)} AS \"{c}\"" for c, t in COLUMNS)
    bad_cols = ", ".join(f"{bad(c, t)} AS \"__bad_{c}\"" for c, t in COLUMNS)
    counts = ", ".join(f"count(*) FILTER (WHERE \"__bad_{c}\")::BIGINT" for c, _ in COLUMNS)
    names = ", ".join(f"\"{c}\"" for c, _ in COLUMNS)
    steps = {}

    def step(name, sql):
        t = time.perf_counter()
        db.execute(sql).fetchall()
        steps[name] = round(time.perf_counter() - t, 3)

    # As stage-stream.ts does it today.
    step("1 read_json into table raw (JSON columns, row_number)", f"CREATE TABLE raw AS SELECT row_number() OVER () AS __row, * FROM ({source})")
    step("2 table typed (casts + mismatch flags)", f"CREATE TABLE typed AS SELECT __row, {typed_cols}, {bad_cols} FROM raw")
    step("3 mismatch counts", f"SELECT count(*)::BIGINT, {counts} FROM typed")
    step("4 COPY ... ORDER BY __row TO parquet zstd", f"COPY (SELECT {names} FROM typed ORDER BY __row) TO '{work}/a.parquet' (FORMAT parquet, COMPRESSION zstd)")
    today = round(sum(steps.values()), 3)
    # One pass: casts straight from the file to Parquet (insertion order is kept by default), and
    # the mismatch count as its own scan (only needed to find rejects when it is non-zero).
    step("alt: one COPY read_json -> casts -> parquet zstd", f"COPY (SELECT {typed_cols} FROM ({source})) TO '{work}/b.parquet' (FORMAT parquet, COMPRESSION zstd)")
    any_bad = " OR ".join(bad(c, t) for c, t in COLUMNS)
    step("alt: mismatch count straight from the file", f"SELECT count(*) FILTER (WHERE {any_bad}) FROM ({source})")
    print(json.dumps({"records": records, "threads": threads, "duckdb": duckdb.__version__, "raw_mb": round(os.path.getsize(raw) / 1e6, 1),
                      "steps_s": steps, "stage_sql_today_s": today}, indent=1))
finally:
    shutil.rmtree(work, ignore_errors=True)
