"""Where the stage task's time goes: replays the SQL of packages/runner/src/tasks/stage-stream.ts,
step by step, on raw NDJSON shaped like the test connector's `users` stream as extract writes it
(one record's data a line): the three-pass design stage had until 2026-11-29 ("before") beside the
one streaming pass it has now ("now").

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

    # Before: JSON columns materialised, typed table with flags, counts, sorted COPY.
    step("1 read_json into table raw (JSON columns, row_number)", f"CREATE TABLE raw AS SELECT row_number() OVER () AS __row, * FROM ({source})")
    step("2 table typed (casts + mismatch flags)", f"CREATE TABLE typed AS SELECT __row, {typed_cols}, {bad_cols} FROM raw")
    step("3 mismatch counts", f"SELECT count(*)::BIGINT, {counts} FROM typed")
    step("4 COPY ... ORDER BY __row TO parquet zstd", f"COPY (SELECT {names} FROM typed ORDER BY __row) TO '{work}/a.parquet' (FORMAT parquet, COMPRESSION zstd)")
    before = round(sum(steps.values()), 3)
    # Now: values read as text and cast in one streaming COPY (insertion order is kept), with a
    # list of the misfit columns' positions per record, counted from the written file.
    cols_text = ", ".join(f"'{c}': 'VARCHAR'" for c, _ in COLUMNS)

    def cast(c, t):
        q = '"' + c + '"'
        return {"long": f"TRY_CAST({q} AS BIGINT)", "string": q, "timestamptz": f"TRY_CAST({q} AS TIMESTAMPTZ)"}[t]

    def misfit(c, t):
        return f"(\"{c}\" IS NOT NULL AND {cast(c, t)} IS NULL)"

    checked = [(i, c, t) for i, (c, t) in enumerate(COLUMNS) if t != "string"]
    any_misfit = " OR ".join(misfit(c, t) for _, c, t in checked)
    positions = ", ".join(f"CASE WHEN {misfit(c, t)} THEN {i} END" for i, c, t in checked)
    cast_cols = ", ".join(cast(c, t) + ' AS "' + c + '"' for c, t in COLUMNS)
    one_pass = "now: one COPY read_json (text) -> casts + misfit list -> parquet snappy"
    step(one_pass,
         f"COPY (SELECT {cast_cols}, CASE WHEN {any_misfit} THEN [{positions}] END AS __sluice_misfit "
         f"FROM read_json(['{raw}'], format = 'newline_delimited', maximum_object_size = 134217728, columns = {{{cols_text}}})) "
         f"TO '{work}/b.parquet' (FORMAT parquet, COMPRESSION snappy)")
    step("now: counts from the file", f"SELECT count(*), count(__sluice_misfit) FROM read_parquet('{work}/b.parquet')")
    now = round(steps[one_pass] + steps["now: counts from the file"], 3)
    print(json.dumps({"records": records, "threads": threads, "duckdb": duckdb.__version__, "raw_mb": round(os.path.getsize(raw) / 1e6, 1),
                      "steps_s": steps, "stage_sql_before_s": before, "stage_sql_now_s": now}, indent=1))
finally:
    shutil.rmtree(work, ignore_errors=True)
