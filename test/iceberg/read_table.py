"""Reads an Iceberg table with PyIceberg (an independent reader) and prints what it sees as JSON.

Input (stdin, JSON): {"database_url", "namespace", "table", "s3": {endpoint, access_key, secret_key, region} | null,
                     "append": [rows] | absent, "set_properties": {name: value} | absent, "rest_uri": str | absent,
                     "rows": false | absent, "count_distinct": [column] | absent, "count_at": [snapshot id] | absent,
                     "add_files": {"rows": [rows]} | absent}
With "rest_uri" the table is read through that Iceberg REST catalog instead of the SQL catalog.   -- with "append", PyIceberg first appends those rows itself; with "set_properties", it sets those table properties first;
with "add_files", it writes those rows to a Parquet file without field ids and adds it with add_files first
With "rows": false the rows are counted, not sent ("rows" is empty).
Output (stdout, JSON): namespaces, tables, schema, rows (sorted), row_count, distinct_counts (of the
"count_distinct" columns), snapshots, manifests and entries of the current snapshot, counts_at (the rows at
each "count_at" snapshot), files (with readable metrics).
"""
import datetime
import decimal
import json
import math
import sys

import pyarrow.compute as pc

from pyiceberg.catalog.sql import SqlCatalog


def plain(value):
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, float) and not math.isfinite(value):
        # JSON has no words for these: named as JavaScript names them.
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def main():
    req = json.load(sys.stdin)
    url = req["database_url"].replace("postgresql://", "postgresql+psycopg2://", 1)
    props = {"uri": url}
    s3 = req.get("s3")
    if s3:
        props.update({
            "s3.endpoint": s3["endpoint"],
            "s3.access-key-id": s3["access_key"],
            "s3.secret-access-key": s3["secret_key"],
            "s3.region": s3["region"],
            "s3.force-virtual-addressing": "false",
        })
    if s3 and (req.get("set_properties") or req.get("add_files")):
        # pyarrow's S3 writes the new metadata file as a multipart upload, which moto answers with
        # an error inside a 200; s3fs (fsspec) writes it in one PUT.
        props["py-io-impl"] = "pyiceberg.io.fsspec.FsspecFileIO"
    if req.get("rest_uri"):
        from pyiceberg.catalog.rest import RestCatalog
        props["uri"] = req["rest_uri"]
        catalog = RestCatalog("sluice", **props)
    else:
        catalog = SqlCatalog("sluice", **props)
    ns, name = req["namespace"], req["table"]
    table = catalog.load_table((ns, name))
    if req.get("set_properties"):
        with table.transaction() as tx:
            tx.set_properties(req["set_properties"])
        table = catalog.load_table((ns, name))
    if req.get("add_files"):
        import uuid
        import pyarrow as pa
        import pyarrow.parquet as pq
        # A Parquet file as a writer outside Iceberg leaves it: columns by name, no field ids (its
        # "rows" give its columns); add_files gives the table a name mapping if it has none.
        spec = req["add_files"]
        arrow_file = pa.Table.from_pylist(spec["rows"])
        location = f"{table.location()}/data/added-{uuid.uuid4()}.parquet"
        with table.io.new_output(location).create() as out:
            pq.write_table(arrow_file, out)
        table.add_files([location])
        table = catalog.load_table((ns, name))
    if req.get("append"):
        import pyarrow as pa
        schema = table.schema().as_arrow()
        table.append(pa.Table.from_pylist(req["append"], schema=schema))
        table = catalog.load_table((ns, name))
    arrow = table.scan().to_arrow()
    if req.get("rows", True):
        rows = [plain(r) for r in arrow.to_pylist()]
        rows.sort(key=lambda r: json.dumps(r, sort_keys=True, default=str))
    else:
        # A large table: counted, not sent back row by row.
        rows = []
    out = {
        "namespaces": [".".join(n) for n in catalog.list_namespaces()],
        "tables": [t[-1] for t in catalog.list_tables(ns)],
        "format_version": table.metadata.format_version,
        "schema": [
            {"id": f.field_id, "name": f.name, "type": str(f.field_type), "required": f.required, **({"doc": f.doc} if f.doc else {})}
            for f in table.schema().fields
        ],
        "arrow_types": {f.name: str(f.type) for f in arrow.schema},
        "rows": rows,
        "row_count": arrow.num_rows,
        "distinct_counts": {c: pc.count_distinct(arrow[c]).as_py() for c in req.get("count_distinct", [])},
        "snapshots": [
            {
                "snapshot_id": str(s.snapshot_id),
                "parent_snapshot_id": None if s.parent_snapshot_id is None else str(s.parent_snapshot_id),
                "sequence_number": s.sequence_number,
                "summary": {k: v for k, v in s.summary.additional_properties.items()} | {"operation": s.summary.operation.value},
            }
            for s in table.metadata.snapshots
        ],
        "current_snapshot_id": None if table.current_snapshot() is None else str(table.current_snapshot().snapshot_id),
        "properties": dict(table.properties),
        "manifests": [
            {"path": m["path"], "added_snapshot_id": str(m["added_snapshot_id"]), "added": m["added_data_files_count"],
             "existing": m["existing_data_files_count"], "deleted": m["deleted_data_files_count"]}
            for m in table.inspect.manifests().to_pylist()
        ],
        "entries": [
            {"status": e["status"], "snapshot_id": str(e["snapshot_id"]), "sequence_number": e["sequence_number"],
             "file_sequence_number": e["file_sequence_number"], "file_path": e["data_file"]["file_path"]}
            for e in table.inspect.entries().to_pylist()
        ],
        "all_manifest_paths": sorted({m["path"] for m in table.inspect.all_manifests().to_pylist()}),
        "counts_at": {sid: table.scan(snapshot_id=int(sid)).to_arrow().num_rows for sid in req.get("count_at", [])},
        "files": [plain(f) for f in table.inspect.files().select(
            ["file_path", "record_count", "value_counts", "null_value_counts", "lower_bounds", "upper_bounds", "readable_metrics"]
        ).to_pylist()],
    }
    json.dump(out, sys.stdout, default=str)


main()
