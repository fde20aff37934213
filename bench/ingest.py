"""End-to-end ingestion throughput against DuckDB's plain CSV -> Parquet conversion of the
same file, measured in the same run, with the peak memory of each.

For each size (1M and 5M rows by default) a synthetic MPS recorded-crime provider CSV is
written (``safestats synthetic``, real London geography when ../shared/data/geography is
there), then:

- baseline: ``COPY (SELECT * FROM read_csv(file)) TO 'x.parquet'`` in a fresh process;
- SafeStats: ``safestats ingest mps-recorded-crime file`` in a fresh process against a
  fresh instance: raw store (SHA-256), reading, every check, geography from coordinates,
  pseudonymisation, Parquet version, publication.

The figures are rows per second, the ratio of our rate to DuckDB's (the target is at least
0.4) and each process's peak resident memory (which should stay flat as the file grows).
Results are written to bench/results.json under "ingest". Nothing is asserted.

    .venv/bin/python bench/ingest.py [ROWS ...]
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
GEOGRAPHY = (REPO / ".." / "shared" / "data" / "geography").resolve()
RESULTS = REPO / "bench" / "results.json"
DATASET = "mps-recorded-crime"


def run(args: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS in MB and stdout of one process."""
    started = time.perf_counter()
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    out = process.stdout.read().decode() if process.stdout else ""
    err = process.stderr.read().decode() if process.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{out}\n{err}")
    return elapsed, usage.ru_maxrss // 1024, out


def instance(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    env.update(SAFESTATS_MODE="demo", SAFESTATS_HOME=str(home))
    safestats = str(BIN / "safestats")
    subprocess.run([safestats, "migrate", "-v0"], env=env, check=True)
    subprocess.run([safestats, "catalogue", "sync"], env=env, check=True, capture_output=True)
    if (GEOGRAPHY / "london_lsoa_2021.geojson").is_file():
        subprocess.run(
            [safestats, "geography", "load", str(GEOGRAPHY)],
            env=env,
            check=True,
            capture_output=True,
        )
    return env


def measure(rows: int, work: Path) -> dict[str, Any]:
    home = work / f"home-{rows}"
    env = instance(home)
    safestats = str(BIN / "safestats")
    source = work / f"crime-{rows}.csv"
    started = time.perf_counter()
    subprocess.run(
        [safestats, "synthetic", DATASET, "--rows", str(rows), "--output", str(source)],
        env=env,
        check=True,
        capture_output=True,
    )
    generated = time.perf_counter() - started
    size_mb = source.stat().st_size / 1e6
    baseline_code = (
        'import duckdb, sys; duckdb.sql("COPY (SELECT * FROM read_csv(\'" + sys.argv[1] + '
        '"\')) TO \'" + sys.argv[2] + "\' (FORMAT parquet)")'
    )
    duck_s, duck_mb, _ = run(
        [str(BIN / "python"), "-c", baseline_code, str(source), str(work / "baseline.parquet")], env
    )
    ours_s, ours_mb, out = run(
        [safestats, "ingest", DATASET, str(source), "--json", "--tolerance", "100"], env
    )
    outcome = json.loads(out.strip().splitlines()[-1])
    if outcome["status"] != "published":
        raise SystemExit(f"the load was not published: {outcome['message']}")
    return {
        "rows": rows,
        "file_mb": round(size_mb, 1),
        "generate_s": round(generated, 2),
        "duckdb_s": round(duck_s, 3),
        "duckdb_rows_per_s": round(rows / duck_s),
        "duckdb_peak_mb": duck_mb,
        "safestats_s": round(ours_s, 3),
        "safestats_rows_per_s": round(rows / ours_s),
        "safestats_peak_mb": ours_mb,
        "ratio": round(duck_s / ours_s, 3),
        "stages_s": outcome["summary"].get("seconds", {}),
        "rows_published": outcome["rows_published"],
        "rows_quarantined": outcome["rows_quarantined"],
    }


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [1_000_000, 5_000_000]
    results = []
    with tempfile.TemporaryDirectory(prefix="safestats-bench-ingest-") as folder:
        for rows in sizes:
            results.append(measure(rows, Path(folder)))
    print(
        f"\n{'rows':>10} {'MB':>7} {'DuckDB s':>9} {'ours s':>8} {'ratio':>6} "
        f"{'DuckDB MB':>10} {'ours MB':>8}  stages (read / check / publish s)"
    )
    for r in results:
        stages = r["stages_s"]
        print(
            f"{r['rows']:>10,} {r['file_mb']:>7} {r['duckdb_s']:>9.2f} {r['safestats_s']:>8.2f} "
            f"{r['ratio']:>6.2f} {r['duckdb_peak_mb']:>10} {r['safestats_peak_mb']:>8}  "
            f"{stages.get('reading', 0):.1f} / {stages.get('checking', 0):.1f} / "
            f"{stages.get('publishing', 0):.1f}"
        )
    print("ratio = our rows per second / DuckDB's (target >= 0.4); MB = peak resident memory")
    existing: dict[str, Any] = {}
    if RESULTS.exists():
        existing = json.loads(RESULTS.read_text())
    existing["ingest"] = {
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg()[0],
        "results": results,
    }
    RESULTS.write_text(json.dumps(existing, indent=2) + "\n")
    print(f"written to {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    main()
