"""Reports on a year of a 300-seat center: the yearly summary from the aggregates vs recomputed from raw.

Generates (seeded) a year of inbound calls straight into the raw call records (``pbx_calls``,
``pbx_queue_legs``, ``pbx_ring_attempts``) and agents' shifts (``reports_agent_state_spans``) with bulk
inserts: a realistic intraday curve (morning and afternoon peaks, quieter weekends), abandons (some short),
queue timeouts, emptied queues, refusals, transfers, ring-no-answers before an answer, ringing cancelled by
an abandon. Then builds the aggregates (``reports.aggregates.rebuild``) and times, in the same run, the
yearly ``summary`` from the day rollup and ``summary_from_raw``, checks they are equal and prints both.

    python -m bench.reports [--calls 10000000] [--agents 300] [--seed 1] [--postgres]

The generated SQLite database is cached under /tmp, keyed by the parameters (a second run only times).
Last line: {"calls": N, "aggregate_s": N, "recompute_s": N}.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

YEAR = 2025
ZONE = ZoneInfo("Asia/Shanghai")
QUEUES = ("support", "billing", "sales", "vip", "complaints", "tech")
QUEUE_WEIGHTS = np.array([0.34, 0.22, 0.14, 0.08, 0.07, 0.15])
# arrivals per hour of the day (local): night trickle, morning peak 10–11, lunch dip, afternoon peak 14–16
HOURLY = np.array(
    [0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.5, 1.5, 4, 7, 8, 7.5, 6, 6.5, 7.5, 7.5, 6.5, 5, 4, 3.5, 3, 2, 1, 0.5]
)
WRAPUP_MS = 5000
CACHE = Path("/tmp")
BATCH_DAYS = 7


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _times(epoch_ms: np.ndarray) -> np.ndarray:
    """Epoch milliseconds → SQLite's naive-UTC text ``YYYY-MM-DD HH:MM:SS.ffffff``."""
    if epoch_ms.size == 0:
        return np.array([], dtype="U26")
    text_ = np.datetime_as_string(epoch_ms.astype("datetime64[ms]").astype("datetime64[us]"), unit="us")
    return np.char.replace(text_, "T", " ")


def _nullable(values: np.ndarray, mask: np.ndarray) -> list[Any]:
    out: list[Any] = values.tolist()
    for i in np.flatnonzero(~mask).tolist():
        out[i] = None
    return out


class Generator:
    """One day of calls at a time, as column arrays (ids continue across days)."""

    def __init__(self, *, calls: int, agents: int, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.calls = calls
        self.agents = agents
        days = [
            date(YEAR, 1, 1) + timedelta(days=n)
            for n in range((date(YEAR + 1, 1, 1) - date(YEAR, 1, 1)).days)
        ]
        weights = np.array([0.6 if d.weekday() >= 5 else 1.0 for d in days])
        per_day = np.floor(weights / weights.sum() * calls).astype(int)
        per_day[: calls - int(per_day.sum())] += 1
        self.days = list(zip(days, per_day.tolist(), strict=True))
        self.call_id = 0
        self.attempt_id = 0
        self.span_id = 0
        self.names = np.array([f"A{n:03d}" for n in range(1, agents + 1)])
        # each queue has its own group of agents (contiguous ranges)
        self.group = np.array_split(np.arange(agents), len(QUEUES))

    def day(self, day: date, n: int) -> dict[str, list[tuple[Any, ...]]]:
        rng = self.rng
        midnight = int(datetime(day.year, day.month, day.day, tzinfo=ZONE).timestamp() * 1000)
        hours = rng.choice(24, size=n, p=HOURLY / HOURLY.sum())
        joined = np.sort(midnight + hours * 3_600_000 + rng.integers(0, 3_600_000, size=n))
        ids = np.arange(self.call_id + 1, self.call_id + n + 1)
        self.call_id += n
        queue = rng.choice(len(QUEUES), size=n, p=QUEUE_WEIGHTS)
        r = rng.random(n)
        # outcomes: refused 0.4 %, left empty 0.3 %, timed out 1.5 %, abandoned 6 %, transferred 2.5 %,
        # the rest answered
        outcome = np.full(n, "answered", dtype=object)
        for upto, name in (
            (0.004, "refused_at_join"),
            (0.007, "left_empty_queue"),
            (0.022, "timed_out"),
            (0.082, "abandoned"),
            (0.107, "transferred"),
        ):
            outcome[(r < upto) & (outcome == "answered")] = name
        answered = (outcome == "answered") | (outcome == "transferred")
        wait = np.where(
            answered,
            rng.exponential(14_000, n),
            np.where(outcome == "abandoned", rng.exponential(35_000, n), 120_000),
        ).astype(np.int64)
        wait[outcome == "left_empty_queue"] = rng.integers(
            1_000, 60_000, int((outcome == "left_empty_queue").sum())
        )
        refused = outcome == "refused_at_join"
        talk = np.where(answered, rng.lognormal(np.log(150_000), 0.6, n), 0).astype(np.int64)
        answered_at = joined + wait
        ended = np.where(answered, answered_at + talk, joined + np.where(refused, 0, wait))
        offsets = np.array([g[0] for g in self.group])[queue]
        sizes = np.array([len(g) for g in self.group])[queue]
        agent_index = offsets + rng.integers(0, 1 << 30, n) % sizes
        agent = self.names[agent_index]
        # ring attempts: the answering one (ring 1–20 s: some after three rings), a ring-no-answer before it
        # for 5 % of answered calls, and ringing cancelled by the caller's hang-up for half the abandons
        ring = rng.integers(1_000, 20_000, n)
        rna = answered & (rng.random(n) < 0.05)
        other = self.names[offsets + (agent_index - offsets + 1) % sizes]
        canceled = (outcome == "abandoned") & (rng.random(n) < 0.5)

        joined_t, answered_t, ended_t = _times(joined), _times(answered_at), _times(ended)
        linkedid = np.char.add("b", ids.astype(str))
        queue_name = np.array(QUEUES)[queue]
        created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        calls = list(
            zip(
                ids.tolist(),
                linkedid.tolist(),
                [created] * n,
                joined_t.tolist(),
                ended_t.tolist(),
                strict=True,
            )
        )
        legs = list(
            zip(
                ids.tolist(),
                ids.tolist(),
                linkedid.tolist(),
                queue_name.tolist(),
                joined_t.tolist(),
                _nullable(answered_t, answered),
                _nullable(agent, answered),
                _nullable(np.char.add("PJSIP/", agent), answered),
                _nullable(wait, ~refused),
                _nullable(talk, answered),
                _nullable(np.full(n, WRAPUP_MS), answered),
                ended_t.tolist(),
                outcome.tolist(),
                strict=True,
            )
        )
        attempts: list[tuple[Any, ...]] = []
        ring_start = answered_at - ring
        for mask, who, started, ring_ms, result in (
            (rna, other, ring_start - 17_000, np.full(n, 15_000), "ring_no_answer"),
            (answered, agent, ring_start, ring, "answered"),
            (canceled, agent, joined + wait // 2, wait - wait // 2, "canceled"),
        ):
            k = int(mask.sum())
            aid = np.arange(self.attempt_id + 1, self.attempt_id + k + 1)
            self.attempt_id += k
            start_ms = np.maximum(started[mask], joined[mask])
            attempts += zip(
                aid.tolist(),
                ids[mask].tolist(),
                who[mask].tolist(),
                _times(start_ms).tolist(),
                _times(start_ms + ring_ms[mask]).tolist(),
                [result] * k,
                ring_ms[mask].tolist(),
                strict=True,
            )
        return {"calls": calls, "legs": legs, "attempts": attempts, "spans": self.shifts(day, midnight)}

    def shifts(self, day: date, midnight: int) -> list[tuple[Any, ...]]:
        """Each agent works five days in seven: an 8 h shift (logged in) with a 1 h lunch pause."""
        rng = self.rng
        working = (np.arange(self.agents) + day.toordinal()) % 7 < 5
        start = midnight + rng.choice([7, 8, 9, 13], size=self.agents) * 3_600_000
        spans: list[tuple[Any, ...]] = []
        for kind, lo, hi in (
            ("logged_in", start, start + 8 * 3_600_000),
            ("paused", start + 4 * 3_600_000, start + 5 * 3_600_000),
        ):
            k = int(working.sum())
            sid = np.arange(self.span_id + 1, self.span_id + k + 1)
            self.span_id += k
            spans += zip(
                sid.tolist(),
                self.names[working].tolist(),
                [kind] * k,
                _times(lo[working]).tolist(),
                _times(hi[working]).tolist(),
                strict=True,
            )
        return spans

    def batches(self) -> Iterator[dict[str, list[tuple[Any, ...]]]]:
        for day, n in self.days:
            yield self.day(day, n)


INSERTS = {
    "calls": "INSERT INTO pbx_calls (id, linkedid, direction, created_at, updated_at, started_at, ended_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)",
    "legs": "INSERT INTO pbx_queue_legs (id, call_id, linkedid, queue, joined_at, answered_at, agent, "
    "interface, "
    "wait_ms, talk_ms, wrapup_ms, ended_at, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "attempts": "INSERT INTO pbx_ring_attempts (id, leg_id, agent, started_at, ended_at, outcome, ring_ms) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)",
    "spans": "INSERT INTO reports_agent_state_spans (id, agent, kind, started_at, ended_at) "
    "VALUES (?, ?, ?, ?, ?)",
}
COPY_COLUMNS = {
    "calls": ("pbx_calls", "id, linkedid, direction, created_at, updated_at, started_at, ended_at"),
    "legs": (
        "pbx_queue_legs",
        "id, call_id, linkedid, queue, joined_at, answered_at, agent, interface, wait_ms, talk_ms, "
        "wrapup_ms, ended_at, outcome",
    ),
    "attempts": ("pbx_ring_attempts", "id, leg_id, agent, started_at, ended_at, outcome, ring_ms"),
    "spans": ("reports_agent_state_spans", "id, agent, kind, started_at, ended_at"),
}


def generate(engine: Engine, gen: Generator) -> None:
    """Bulk load: executemany on SQLite (no journal while loading), COPY on PostgreSQL."""
    postgres = engine.dialect.name == "postgresql"
    started = time.perf_counter()
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if not postgres:
            cursor.execute("PRAGMA synchronous=OFF")
        done = 0
        for n, batch in enumerate(gen.batches(), start=1):
            for table in ("calls", "legs", "attempts", "spans"):
                rows = batch[table]
                if table == "calls":
                    rows = [(i, lid, "inbound", c, c, s, e) for i, lid, c, s, e in rows]
                if postgres:
                    name, columns = COPY_COLUMNS[table]
                    with cursor.copy(f"COPY {name} ({columns}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row([_pg(v) for v in row])
                else:
                    cursor.executemany(INSERTS[table], rows)
            done += len(batch["calls"])
            if n % BATCH_DAYS == 0:
                raw.commit()
                rate = done / (time.perf_counter() - started)
                log(f"  day {n}: {done} calls ({rate:,.0f} calls/s)")
        raw.commit()
        if postgres:
            cursor.execute("ANALYZE")
            raw.commit()
    finally:
        raw.close()


def _pg(value: Any) -> Any:
    if isinstance(value, str) and len(value) == 26 and value[4] == "-" and value[10] == " ":
        return value + "+00"
    return value


def build(engine: Engine, config: Any) -> float:
    from reports.aggregates import rebuild
    from reports.models import AgentStateSpan, ReportWatermark

    started = time.perf_counter()
    with Session(engine) as session:
        lo = datetime(YEAR, 1, 1, tzinfo=ZONE)
        hi = datetime(YEAR + 1, 1, 1, tzinfo=ZONE)
        rebuild(session, lo, hi, config, now=hi)
        span_id = session.scalar(select(func.max(AgentStateSpan.id))) or 0
        session.merge(
            ReportWatermark(name="calls", at=hi.astimezone(UTC), span_id=span_id, zone=str(config.zone))
        )
        session.commit()
    return time.perf_counter() - started


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000_000)
    parser.add_argument("--agents", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres", action="store_true", help="on a throwaway PostgreSQL cluster")
    args = parser.parse_args(argv)

    from callcenter.models import load_all_models
    from core.db import make_engine
    from reports.aggregates import ReportConfig
    from reports.queries import summary, summary_from_raw

    config = ReportConfig(zone=ZONE)
    metadata = load_all_models().metadata
    cluster = None
    if args.postgres:
        from tests.servers import PostgresCluster, _pg_binaries

        binaries = _pg_binaries()
        if binaries is None:
            log("PostgreSQL's initdb/pg_ctl not found")
            return 2
        cluster = PostgresCluster(*binaries)
        cluster.start()
        url = cluster.url(cluster.create_database())
        generated = cached = False
    else:
        path = CACHE / f"bench-reports-{args.calls}-{args.agents}-{args.seed}.db"
        generated = path.exists() and path.with_suffix(".generated").exists()
        cached = generated and path.with_suffix(".done").exists()
        if not generated:
            path.unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    engine = make_engine(url)
    try:
        if not generated:
            metadata.create_all(engine)
            log(f"generating {args.calls:,} calls, {args.agents} agents, seed {args.seed} …")
            _, gen_s = timed(
                generate, engine, Generator(calls=args.calls, agents=args.agents, seed=args.seed)
            )
            log(f"generated in {gen_s:.1f} s")
            if not args.postgres:
                path.with_suffix(".generated").write_text("ok\n")
        if not cached:
            log("building the aggregates …")
            build_s = build(engine, config)
            log(f"aggregates built in {build_s:.1f} s")
            if not args.postgres:
                path.with_suffix(".done").write_text("ok\n")
        else:
            log(f"using the cached database {url}")
        first, last = date(YEAR, 1, 1), date(YEAR, 12, 31)
        with Session(engine) as session:
            calls = session.scalar(select(func.count()).select_from(text("pbx_calls"))) or 0
            summary(session, start=first, end=last, settings=config)  # warm the page cache once
            aggregated, aggregate_s = timed(summary, session, start=first, end=last, settings=config)
            recomputed, recompute_s = timed(summary_from_raw, session, start=first, end=last, settings=config)
        log(f"yearly summary from the aggregates: {aggregate_s:.3f} s")
        log(f"yearly summary recomputed from raw: {recompute_s:.3f} s ({recompute_s / aggregate_s:,.0f}×)")
        if aggregated != recomputed:
            log("MISMATCH between the aggregates and the recomputation")
            return 1
        total = aggregated["queues"]
        log(
            "queues: "
            + ", ".join(
                f"{q} {v['offered']} offered SL {v['service_level']['pct_of_offered']} %"
                for q, v in total.items()
            )
        )
        print(
            json.dumps(
                {"calls": calls, "aggregate_s": round(aggregate_s, 4), "recompute_s": round(recompute_s, 3)}
            )
        )
    finally:
        engine.dispose()
        if cluster is not None:
            cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
