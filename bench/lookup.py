"""Screen-pop lookup: how fast a caller's number finds its customer file, through the whole service call
(normalising the number as the PBX presents it, the clearance filter, loading the file).

Side by side in one run on the same SQLite file: with the index on customer_phones.number (as shipped)
and with that index dropped (a table scan), to show what the index buys.

    python -m bench.lookup [--customers 50000] [--lookups 2000]

Last line: {"customers", "lookups", "indexed_lookups_per_s", "scan_lookups_per_s", "speedup",
"indexed_p99_ms"}.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from callcenter.models import load_all_models
from core.customers import service
from core.customers.models import Customer, CustomerPhone
from core.db import make_engine
from core.security.roles import Clearance


def build(path: Path, customers: int, rng: random.Random) -> list[str]:
    engine = make_engine(f"sqlite:///{path}")
    load_all_models().metadata.create_all(engine)
    numbers: list[str] = []
    with engine.begin() as connection:
        rows = [
            {
                "id": n,
                "code": f"C{n:07d}",
                "kind": "individual",
                "name": f"客户{n}",
                "grade": "A",
                "confidentiality": 1,
            }
            for n in range(1, customers + 1)
        ]
        connection.execute(insert(Customer), rows)
        phones = []
        for n in range(1, customers + 1):
            for _ in range(rng.choice((1, 1, 2))):
                number = f"+861{rng.choice('358')}{rng.randrange(10**9):09d}"
                phones.append({"customer_id": n, "number": number, "label": "mobile", "is_primary": False})
                numbers.append(number)
        connection.execute(insert(CustomerPhone), phones)
    engine.dispose()
    return numbers


def measure(path: Path, asked: list[str]) -> tuple[float, float]:
    """Lookups per second and p99 latency (ms) over ``asked``, numbers as a PBX presents them."""
    engine = make_engine(f"sqlite:///{path}")
    latencies = []
    with Session(engine) as session:
        service.lookup_by_phone(session, phone=asked[0], user_id=1, clearance=Clearance.INTERNAL)  # warm up
        start = time.perf_counter()
        for number in asked:
            t0 = time.perf_counter()
            found = service.lookup_by_phone(session, phone=number, user_id=1, clearance=Clearance.INTERNAL)
            latencies.append(time.perf_counter() - t0)
            assert found, number
        elapsed = time.perf_counter() - start
    engine.dispose()
    latencies.sort()
    return len(asked) / elapsed, latencies[int(len(latencies) * 0.99) - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--lookups", type=int, default=2_000)
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        numbers = build(path, args.customers, rng)
        # As Asterisk presents a Chinese mobile caller: national digits, no +86.
        asked = [n[3:] for n in rng.sample(numbers, min(args.lookups, len(numbers)))]
        indexed, p99 = measure(path, asked)
        engine = make_engine(f"sqlite:///{path}")
        with engine.begin() as connection:
            connection.execute(text("DROP INDEX ix_customer_phones_number"))
        engine.dispose()
        # A scan is slow: a tenth of the lookups gives a stable rate.
        scan, _ = measure(path, asked[: max(20, len(asked) // 10)])
    print(f"customers: {args.customers}, phones: {len(numbers)}, lookups: {len(asked)}")
    print(f"indexed: {indexed:,.0f} lookups/s (p99 {p99:.2f} ms)")
    print(f"scan:    {scan:,.0f} lookups/s")
    print(f"speedup: {indexed / scan:.1f}x")
    print(
        json.dumps(
            {
                "customers": args.customers,
                "lookups": len(asked),
                "indexed_lookups_per_s": round(indexed, 1),
                "scan_lookups_per_s": round(scan, 1),
                "speedup": round(indexed / scan, 2),
                "indexed_p99_ms": round(p99, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
