"""Runs statements with Apache Spark 3.5 and Iceberg's Spark runtime (Iceberg's Java library)
against Sluice's SQL catalog, used as Iceberg's JdbcCatalog: an independent reader and writer of
the tables Sluice commits. Reads a JSON request on stdin:
  {"jars": dir, "jdbc_uri": …, "user": …, "password": …, "warehouse": …,
   "steps": [{"sql": "…", "rows": true|false}, …]}
and writes [rows or null per step] as JSON (non-finite floats as strings)."""
import glob
import json
import math
import os
import sys

from pyspark.sql import SparkSession


def plain(value):
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


request = json.load(sys.stdin)
builder = (
    SparkSession.builder.master("local[1]")
    .appName("sluice-interop")
    .config("spark.jars", ",".join(sorted(glob.glob(os.path.join(request["jars"], "*.jar")))))
    .config("spark.sql.extensions", "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions")
    .config("spark.sql.catalog.sluice", "org.apache.iceberg.spark.SparkCatalog")
    .config("spark.sql.catalog.sluice.type", "jdbc")
    .config("spark.sql.catalog.sluice.uri", request["jdbc_uri"])
    .config("spark.sql.catalog.sluice.jdbc.user", request["user"])
    .config("spark.sql.catalog.sluice.jdbc.password", request["password"])
    .config("spark.sql.catalog.sluice.warehouse", request["warehouse"])
    .config("spark.sql.session.timeZone", "UTC")
    .config("spark.ui.enabled", "false")
    .config("spark.ui.showConsoleProgress", "false")
    .config("spark.driver.memory", "1g")
)
spark = builder.getOrCreate()
spark.sparkContext.setLogLevel("ERROR")
out = []
for step in request["steps"]:
    frame = spark.sql(step["sql"])
    if step.get("rows"):
        out.append([{k: plain(v) for k, v in row.asDict().items()} for row in frame.collect()])
    else:
        frame.collect()
        out.append(None)
spark.stop()
json.dump(out, sys.stdout)
