"""The tracking server's writer of the local run store: runs by id, each record once.

Remote runs are written with :class:`~ml_infra_utils.RunStoreSink`, so they are
ordinary runs of the store (``list_runs``/``load_run`` and the command line read
them like local ones); their metric lines carry the client's ``msg_id``.

**Each record once.** A client may send a request twice (an answer lost, a
spooled request replayed, a server restarted in between). Per run the store
remembers what it stored:

* ids of the form ``"<run id>:<n>"`` (our clients number every record of a run
  in order) as the ranges of ``n`` stored (:class:`SeqRanges`): for a client
  sending in order that is one range, so it costs nothing per record; a request
  refused once and sent again later (out of order) is still stored, once. The
  ranges are rebuilt after a restart from the last ``TAIL_BYTES`` of
  ``metrics.jsonl``; ids below the lowest one seen there count as stored (a gap
  that old is not filled after a restart). At most :data:`MAX_GAPS` gaps are
  kept per run; beyond, the oldest gap counts as stored (with a warning);
* any other id (Tora's random UUIDs) in a window (:class:`IdWindow`) of the
  run's latest requests: always the whole last one, and older ones while the
  window holds at most :data:`SMALL_WINDOW` ids of small requests and
  :data:`DEDUP_WINDOW` of large ones, also rebuilt from the file after a
  restart. A repeated request is always recent (it repeats the one before),
  and a request holds at most ``MAX_LOGS_PER_REQUEST`` records. The window
  keeps keyed 64-bit digests of the ids, not the ids: an open run costs at
  most about 3.5 MB for it, and a lookup costs about as much as a set's.

Results go to ``run.json``, which keeps no ids: their ids are appended to the
run's ``.result_ids`` (one JSON string a line) and read again with the metrics'
when the run is reopened.

At most ``max_open`` runs are held open (file descriptor and ids); the least
recently used is closed first and rebuilt from its files when it is used again.
That reading (and a new run's creation) happens outside the store's lock: a
placeholder run, its lock held by the loader, stands in meanwhile.
"""

from __future__ import annotations

import array
import bisect
import collections
import datetime as dt
import hashlib
import json
import logging
import os
import re
import secrets
import sys
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._payloads import NewExperiment, ParsedLogs
from ._protocol import MAX_LOGS_PER_REQUEST, ProtocolError
from ._records import (
    METRICS_FILE,
    RUN_FILE,
    SCHEMA_VERSION,
    RecordBatch,
    write_all,
    write_json_atomic,
)
from ._store import _read_info
from ._validators import check_experiment
from .sinks import RunStoreSink

__all__ = [
    "DEDUP_WINDOW",
    "MAX_GAPS",
    "SMALL_REQUEST",
    "SMALL_WINDOW",
    "IdWindow",
    "RemoteStore",
    "SeqRanges",
]

DEDUP_WINDOW = MAX_LOGS_PER_REQUEST
TAIL_BYTES = 32 * 1024 * 1024  # covers DEDUP_WINDOW lines of the usual size
WORKSPACES_FILE = ".workspaces.json"
RESULT_IDS_FILE = ".result_ids"  # in a run's directory: its results' msg_ids
MAX_GAPS = 10_000  # per run: gaps in the sequence ids stored, beyond: filled
SMALL_REQUEST = 1024  # a request of at most this many random ids: in the set
SMALL_WINDOW = 8192  # the set's ids, beyond its newest request
_DIGEST_KEY = secrets.token_bytes(16)  # per process: no id collides by design
_RANDOM_HASH = bool(sys.flags.hash_randomization)

_log = logging.getLogger("ml_infra_utils.logging.server")

_MSG_ID = re.compile(rb'"msg_id":"((?:[^"\\]|\\.)*)"')
_LINE = re.compile(rb'"name":"([^"]*)".*?"step":(\d+)')


class SeqRanges:
    """Sorted, disjoint ranges of integers (the sequence numbers stored).

    Examples:
        >>> ranges = SeqRanges()
        >>> ranges.add(0, 9)
        >>> ranges.add(20, 29)
        >>> ranges.add(5, 14)
        >>> ranges
        SeqRanges([(0, 14), (20, 29)])
        >>> 14 in ranges, 15 in ranges, ranges.top
        (True, False, 29)
    """

    __slots__ = ("ends", "filled", "starts")

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.filled = 0  # gaps counted as stored because there were too many

    def __repr__(self) -> str:
        return f"SeqRanges({list(zip(self.starts, self.ends, strict=True))})"

    def __contains__(self, n: int) -> bool:
        i = bisect.bisect_right(self.starts, n) - 1
        return i >= 0 and n <= self.ends[i]

    @property
    def top(self) -> int:
        """The highest number in a range (-1 when empty)."""
        return self.ends[-1] if self.ends else -1

    def add(self, lo: int, hi: int) -> None:
        """Add the numbers *lo* to *hi* (inclusive), merging touching ranges."""
        starts, ends = self.starts, self.ends
        if not ends or lo > ends[-1] + 1:  # above everything: the usual case
            starts.append(lo)
            ends.append(hi)
        elif lo >= starts[-1]:  # touches the last range
            ends[-1] = max(ends[-1], hi)
        else:
            i = bisect.bisect_left(ends, lo - 1)  # the first range ending >= lo-1
            j = bisect.bisect_right(starts, hi + 1)  # ranges from i to j-1 touch
            if i == j:
                starts.insert(i, lo)
                ends.insert(i, hi)
            else:
                starts[i:j] = [min(lo, starts[i])]
                ends[i:j] = [max(hi, ends[j - 1])]
        while len(starts) > MAX_GAPS + 1:  # fill the oldest gap
            del starts[1], ends[0]
            self.filled += 1


def _digest(msg_id: str) -> int:
    """A keyed 64-bit digest of *msg_id* (the window keeps these, not the ids).

    Python's own string hash when hash randomisation is on (the default: it is
    SipHash keyed by a random per-process secret, and fast); a keyed BLAKE2b
    digest when ``PYTHONHASHSEED`` fixes the hash, so no client can make two
    ids collide on purpose either way.
    """
    if _RANDOM_HASH:
        return hash(msg_id)
    data = msg_id.encode("utf-8", "surrogatepass")
    digest = hashlib.blake2b(data, digest_size=8, key=_DIGEST_KEY).digest()
    return int.from_bytes(digest, "little", signed=True)


class IdWindow:
    """The digests of the ids of a run's latest requests (random ids only).

    Two tiers, each always holding its newest request whole:

    * a request of at most :data:`SMALL_REQUEST` ids (Tora's usual 25 to
      1,000) goes into one set, for a constant-time lookup; the oldest
      requests leave it while it holds more than :data:`SMALL_WINDOW` ids;
    * a larger request is kept as one sorted ``array('q')`` (8 bytes an id);
      the oldest leave while the arrays hold more than :data:`DEDUP_WINDOW`.
      A request is checked against them in one pass over each array, or by
      bisection when it is small.

    So an open run holds at most about ``200 * (SMALL_WINDOW + SMALL_REQUEST)
    + 8 * (DEDUP_WINDOW + MAX_LOGS_PER_REQUEST)`` bytes of digests (about
    3.5 MB), whatever its clients send. Two distinct ids share a digest with a
    chance of about ``2**-64`` per pair.

    Examples:
        >>> window = IdWindow()
        >>> window.add(["a", "b"])
        >>> "a" in window, "c" in window, len(window)
        (True, False, 2)
    """

    __slots__ = ("array_size", "arrays", "small", "small_requests", "small_size")

    def __init__(self) -> None:
        self.small: set[int] = set()
        self.small_requests: collections.deque[array.array[int]] = collections.deque()
        self.small_size = 0
        self.arrays: collections.deque[array.array[int]] = collections.deque()
        self.array_size = 0

    def __len__(self) -> int:
        return self.small_size + self.array_size

    def __contains__(self, msg_id: str) -> bool:
        return bool(self.find([msg_id]))

    def find(self, ids: list[str]) -> set[str]:
        """The ids of *ids* in the window."""
        digests = {_digest(msg_id): msg_id for msg_id in ids}
        small = self.small
        hits = {d for d in digests if d in small} if small else set()
        arrays = self.arrays
        if arrays:
            if len(digests) * len(arrays) * 32 < self.array_size:
                for d in digests:
                    for chunk in arrays:
                        i = bisect.bisect_left(chunk, d)
                        if i < len(chunk) and chunk[i] == d:
                            hits.add(d)
                            break
            else:
                keys = digests.keys()
                for chunk in arrays:
                    hits |= keys & chunk
        return {digests[d] for d in hits}

    def add(self, ids: list[str]) -> None:
        """Add the ids of one request (then drop the oldest beyond the window)."""
        if not ids:
            return
        digests = array.array("q", map(_digest, ids))
        if len(digests) <= SMALL_REQUEST:
            self.small.update(digests)
            self.small_requests.append(digests)
            self.small_size += len(digests)
            while self.small_size > SMALL_WINDOW and len(self.small_requests) > 1:
                old = self.small_requests.popleft()
                self.small_size -= len(old)
                self.small.difference_update(old)
            return
        self.arrays.append(array.array("q", sorted(digests)))
        self.array_size += len(digests)
        while self.array_size > DEDUP_WINDOW and len(self.arrays) > 1:
            self.array_size -= len(self.arrays.popleft())


class _Run:
    """One open run: its sink, record, and what it has stored (private)."""

    __slots__ = (
        "closed",
        "info",
        "lock",
        "max_steps",
        "prefix",
        "recent",
        "seqs",
        "sink",
    )

    def __init__(self, sink: RunStoreSink | None, info: dict[str, Any]) -> None:
        # sink None: a placeholder, its lock held while the run is loaded
        self.lock = threading.Lock()
        self.sink: RunStoreSink = sink  # type: ignore[assignment]  # set by the loader
        self.info = info
        self.prefix = f"{info['id']}:"
        self.seqs = SeqRanges()
        self.recent = IdWindow()
        self.max_steps: dict[str, int] | None = None
        self.closed = False

    def seq(self, msg_id: str) -> int | None:
        if msg_id.startswith(self.prefix):
            rest = msg_id[len(self.prefix) :]
            if rest.isdigit() and rest.isascii():
                return int(rest)
        return None

    def seen(self, ids: list[str]) -> Callable[[str], bool]:
        """Whether an id of *ids* was stored before (the window is searched
        once for all of them)."""
        seq, seqs = self.seq, self.seqs
        others = [msg_id for msg_id in ids if seq(msg_id) is None]
        known = self.recent.find(others) if others else set()

        def seen(msg_id: str) -> bool:
            n = seq(msg_id)
            return n in seqs if n is not None else msg_id in known

        return seen

    def remember(self, ids: list[str]) -> None:
        """Remember the ids of one request (stored now, each not seen before)."""
        self.recent.add(self.remember_seqs(ids))

    def remember_seqs(self, ids: list[str]) -> list[str]:
        """Remember the sequence ids of *ids*; the others (random ids)."""
        others = []
        for msg_id in ids:
            n = self.seq(msg_id)
            if n is not None:
                self.seqs.add(n, n)
            else:
                others.append(msg_id)
        return others


class RemoteStore:
    """The run store as the server writes it (thread-safe; see the module docs)."""

    def __init__(self, runs_dir: Path, *, fsync: bool, max_open: int = 128) -> None:
        self.root = runs_dir
        self.fsync = fsync
        self.max_open = max_open
        self.names: set[str] = set()  # metric names validated already
        self._lock = threading.Lock()
        self._runs: collections.OrderedDict[str, _Run] = collections.OrderedDict()
        self._paths: dict[str, Path] = {}
        self._workspace_lock = threading.Lock()
        self._closed = False  # then every call refuses (503): nothing reopens

    # ------------------------------------------------------------ runs
    def create(self, new: NewExperiment, *, host: str | None) -> dict[str, Any]:
        """Create a run for a Tora ``POST /experiments``; its record."""
        if new.workspace_id is not None and not self.has_workspace(new.workspace_id):
            msg = (
                f"workspace {new.workspace_id!r} not found "
                "(create it with POST /workspaces)"
            )
            raise ProtocolError(404, msg)
        now = dt.datetime.now(dt.UTC)
        info: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "id": f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(4)}",
            "experiment": new.name,
            "name": None,
            "status": "running",
            "start_time": now.isoformat(timespec="microseconds"),
            "end_time": None,
            "duration": None,
            "params": new.params,
            "tags": new.tags,
            "results": {},
            "error": None,
            "host": host,
            "pid": None,
            "python": None,
            "workspace_id": new.workspace_id,
            "description": new.description,
        }
        run = self._placeholder(info)
        with self._lock:
            self._check_open()
            victims = self._keep(info["id"], run)
        self._fill(run, lambda new_run: self._open_new(new_run, info), victims)
        run.lock.release()
        return dict(info)

    def put(self, record: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Create or update a run from a client's record; ``(record, created)``."""
        run_id = record["id"]
        while True:
            with self._lock:
                self._check_open()
                new = run_id not in self._runs and self._locate(run_id) is None
                if new:  # created outside the store's lock, this one held
                    run = self._placeholder(record)
                    victims = self._keep(run_id, run)
            if new:
                self._fill(
                    run, lambda new_run: self._open_new(new_run, record), victims
                )
                run.lock.release()
                return dict(record), True
            try:
                run = self._acquire(run_id)
                break
            except ProtocolError as exc:
                if exc.status != 404:
                    raise
                # It was being loaded and was not there: create it now.
        try:
            old = run.info
            if old.get("experiment") != record["experiment"]:
                msg = (
                    f"run {run_id} belongs to experiment {old.get('experiment')!r}, "
                    f"not {record['experiment']!r}"
                )
                raise ProtocolError(409, msg)
            merged = dict(record)
            merged["results"] = {**old.get("results", {}), **record["results"]}
            for key in ("workspace_id", "description", "host"):
                if merged.get(key) is None and old.get(key) is not None:
                    merged[key] = old[key]
            run.sink.update(merged)
            run.info = merged
            return dict(merged), False
        finally:
            run.lock.release()

    def info(self, run_id: str) -> dict[str, Any]:
        """The run record of *run_id* (404 if there is none)."""
        run = self._acquire(run_id)
        try:
            return dict(run.info)
        finally:
            run.lock.release()

    def append(self, run_id: str, logs: ParsedLogs) -> tuple[int, int]:
        """Store the records not stored before; ``(stored, duplicates)``."""
        run = self._acquire(run_id)
        try:
            return self._append(run, logs)
        finally:
            run.lock.release()

    def _append(self, run: _Run, logs: ParsedLogs) -> tuple[int, int]:
        metrics, ids, top = self._new_metrics(run, logs)
        batch_ids = set(ids) if logs.result_ids else set()
        seen = run.seen(logs.result_ids)
        results = []
        for msg_id, record in zip(logs.result_ids, logs.results, strict=True):
            if not seen(msg_id) and msg_id not in batch_ids:
                batch_ids.add(msg_id)
                results.append(record)
                ids.append(msg_id)
        stored = len(ids)
        if not stored:
            return 0, len(logs)
        if logs.stepless or run.max_steps is not None:
            self._fill_steps(run, metrics)
        run_id = run.info["id"]
        count = len(metrics) // 4
        # Metrics first, results (a rewrite of run.json) second, each remembered
        # once written: a failure in between never stores a record twice.
        if metrics:
            run.sink.write(RecordBatch(run_id, 0, metrics, (), ids[:count]))
            if top is not None:
                run.seqs.add(top - count + 1, top)
            else:
                run.remember(ids[:count])
            if run.seqs.filled:
                _log.warning(
                    "run %s: more than %d gaps in its sequence ids; the %d oldest "
                    "count as stored",
                    run_id,
                    MAX_GAPS,
                    run.seqs.filled,
                )
                run.seqs.filled = 0
        if results:
            run.sink.write(RecordBatch(run_id, 0, (), results, ids[count:]))
            run.info["results"] = {**run.info.get("results", {})}
            run.info["results"].update((r[0], r[1]) for r in results)
            run.remember(ids[count:])
            # run.json keeps no ids: they go to a file of their own, read
            # again when the run is reopened (after a restart or eviction).
            self._keep_result_ids(run, ids[count:])
        return stored, len(logs) - stored

    def _new_metrics(
        self, run: _Run, logs: ParsedLogs
    ) -> tuple[list[Any], list[str], int | None]:
        """The metrics (flat) and ids of *logs* not stored before, in order, and
        the sequence number of the last one when they are a contiguous range."""
        ids = logs.metric_ids
        if ids and ids[0].startswith(run.prefix):
            # Our clients number a run's records: a request is usually a
            # contiguous range above everything stored. One C-level comparison
            # proves it, and then no record needs a look of its own.
            first = run.seq(ids[0])
            if first is not None and first > run.seqs.top:
                expected = [f"{run.prefix}{n}" for n in range(first, first + len(ids))]
                if ids == expected:
                    return logs.metrics, expected, first + len(ids) - 1
        seen = run.seen(ids)
        batch_ids: set[str] = set()
        metrics: list[Any] = []
        kept: list[str] = []
        flat = logs.metrics
        for i, msg_id in enumerate(ids):
            if seen(msg_id) or msg_id in batch_ids:
                continue
            batch_ids.add(msg_id)
            metrics += flat[4 * i : 4 * i + 4]
            kept.append(msg_id)
        return metrics, kept, None

    def _keep_result_ids(self, run: _Run, ids: list[str]) -> None:
        data = "".join(json.dumps(i) + "\n" for i in ids).encode()
        path = self._path(run) / RESULT_IDS_FILE
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            write_all(fd, data)
            if self.fsync:
                os.fsync(fd)
        finally:
            os.close(fd)

    def _fill_steps(self, run: _Run, metrics: list[Any]) -> None:
        # Metrics sent without a step take the next step of their name, as a
        # run's own metric(name, value) does; explicit steps move it on.
        if run.max_steps is None:
            run.max_steps = _max_steps(self._path(run) / METRICS_FILE)
        steps = run.max_steps
        for i in range(0, len(metrics), 4):
            name, step = metrics[i], metrics[i + 2]
            if step is None:
                step = metrics[i + 2] = steps.get(name, -1) + 1
            if step > steps.get(name, -1):
                steps[name] = step

    def close(self) -> None:
        """Close every open run (fsync its metrics when enabled); from then on
        every request the store gets is refused with 503 (a request that
        outlived the server's stop() must not reopen a run and write)."""
        with self._lock:
            self._closed = True
            runs = list(self._runs.values())
            self._runs.clear()
        for run in runs:
            with run.lock:
                if not run.closed:  # else: failed to open, or closed by _fill
                    run.closed = True
                    run.sink.close()

    def _check_open(self) -> None:
        # Called with self._lock held.
        if self._closed:
            raise ProtocolError(503, "the server is shutting down")

    # ------------------------------------------------------------ open runs
    def _path(self, run: _Run) -> Path:
        path = run.sink.path
        assert path is not None  # noqa: S101 - an open sink has a path
        return path

    def _locate(self, run_id: str) -> Path | None:
        path = self._paths.get(run_id)
        if path is not None and (path / RUN_FILE).is_file():
            return path
        if self.root.is_dir():
            for experiment in self.root.iterdir():
                candidate = experiment / run_id
                if (
                    not experiment.name.startswith(".")
                    and (candidate / RUN_FILE).is_file()
                ):
                    self._paths[run_id] = candidate
                    return candidate
        return None

    def _placeholder(self, info: dict[str, Any]) -> _Run:
        """A run not yet opened, its lock held (by the caller, who fills it)."""
        run = _Run(None, dict(info))
        run.lock.acquire()
        return run

    def _open_new(self, run: _Run, info: dict[str, Any]) -> None:
        sink = RunStoreSink(self.root, fsync=self.fsync)
        sink.open(info)
        assert sink.path is not None  # noqa: S101 - set by open()
        self._paths[info["id"]] = sink.path
        run.sink = sink

    def _fill(
        self, run: _Run, fill: Callable[[_Run], None], victims: list[_Run]
    ) -> None:
        """Close the runs evicted for placeholder *run* (its lock held) and
        fill it, outside the store's lock, then keep it; on failure drop it,
        release its lock and raise. Requests for other runs go on meanwhile;
        one for this run (or a victim) waits on its lock."""
        run_id = run.info["id"]
        for victim in victims:
            try:
                victim.sink.close()
            except OSError:
                _log.exception("could not close run %s", victim.info["id"])
            finally:
                victim.lock.release()
        try:
            fill(run)
            with self._lock:
                if self._closed or self._runs.get(run_id) is not run:
                    run.sink.close()
                    raise ProtocolError(503, "the server is shutting down")
        except BaseException:
            run.closed = True
            with self._lock:
                if self._runs.get(run_id) is run:
                    del self._runs[run_id]
            run.lock.release()
            raise

    def _acquire(self, run_id: str) -> _Run:
        """The open run *run_id* with its lock held (404 if it does not exist).

        A run that is not open is loaded (its files read) *outside* the store's
        lock: a placeholder whose lock the loader holds stands in the LRU
        meanwhile, so requests for other runs go on, and a second request for
        this run waits on its lock and then finds it loaded.
        """
        while True:
            with self._lock:
                self._check_open()
                run = self._runs.get(run_id)
                if run is None:
                    run = self._placeholder({"id": run_id})
                    victims = self._keep(run_id, run)
                    loading = True
                else:
                    self._runs.move_to_end(run_id)
                    loading = False
            if loading:
                self._fill(run, self._reopen, victims)
                return run
            run.lock.acquire()
            if not run.closed:
                return run
            run.lock.release()  # evicted or failed to load meanwhile: again

    def _reopen(self, run: _Run) -> None:
        run_id = run.info["id"]
        path = self._locate(run_id)
        if path is None:
            msg = f"experiment {run_id!r} not found"
            raise ProtocolError(404, msg)
        info = _read_info(path)
        info.pop("path", None)
        info["experiment"] = path.parent.name
        ids, whole = _tail_ids(path / METRICS_FILE)
        others = run.remember_seqs(ids)
        results = run.remember_seqs(_result_ids(path / RESULT_IDS_FILE))
        # The latest random ids, at most DEDUP_WINDOW of the metrics' and the
        # results' together (the results' at least half of it if they have it).
        n_results = min(
            len(results), max(DEDUP_WINDOW - len(others), DEDUP_WINDOW // 2)
        )
        run.recent.add(
            _last(others, DEDUP_WINDOW - n_results) + _last(results, n_results)
        )
        if not whole and run.seqs.starts and run.seqs.starts[0] > 0:
            # Older than the tail read: counted as stored (not read again).
            run.seqs.add(0, run.seqs.starts[0] - 1)
        sink = RunStoreSink(self.root, fsync=self.fsync)
        sink.open(info)
        run.info = info
        run.sink = sink

    def _keep(self, run_id: str, run: _Run) -> list[_Run]:
        """Keep *run* open (called with self._lock held); the runs evicted for
        it, marked closed and locked: the caller closes them (:meth:`_fill`)
        after releasing self._lock (a close may fsync)."""
        self._runs[run_id] = run
        victims = []
        for victim_id in list(self._runs):
            if len(self._runs) <= self.max_open:
                break
            victim = self._runs[victim_id]
            if victim is run or not victim.lock.acquire(blocking=False):
                continue
            victim.closed = True
            victims.append(victim)
            del self._runs[victim_id]
        return victims

    # ------------------------------------------------------------ workspaces
    def _workspaces(self) -> dict[str, Any]:
        try:
            data = json.loads((self.root / WORKSPACES_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def has_workspace(self, workspace_id: str) -> bool:
        """Whether a workspace of this id was created."""
        with self._workspace_lock:
            return workspace_id in self._workspaces()

    def create_workspace(self, name: str, description: str | None) -> dict[str, Any]:
        """Create a workspace (kept in ``<runs_dir>/.workspaces.json``)."""
        workspace_id = str(uuid.uuid4())
        workspace = {
            "id": workspace_id,
            "name": name,
            "description": description,
            "createdAt": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
        }
        with self._workspace_lock:
            with self._lock:
                self._check_open()
            data = self._workspaces()
            data[workspace_id] = workspace
            self.root.mkdir(parents=True, exist_ok=True)
            text = json.dumps(data, indent=2) + "\n"
            write_json_atomic(
                self.root / WORKSPACES_FILE, text.encode(), fsync=self.fsync
            )
        return workspace


def valid_run_id(text: str) -> bool:
    """Whether *text* can be a run id (a safe directory name)."""
    try:
        check_experiment(text, "id")
    except ValueError:
        return False
    return True


def _tail_ids(path: Path) -> tuple[list[str], bool]:
    """The message ids in the last ``TAIL_BYTES`` of a ``metrics.jsonl``, and
    whether that was the whole file."""
    try:
        with path.open("rb") as file:
            size = file.seek(0, 2)
            start = max(0, size - TAIL_BYTES)
            file.seek(start)
            data = file.read()
    except FileNotFoundError:
        return [], True
    if start:
        data = data[data.find(b"\n") + 1 :]
    ids = []
    for match in _MSG_ID.finditer(data):
        raw = match.group(1)
        try:
            ids.append(json.loads(b'"' + raw + b'"') if b"\\" in raw else raw.decode())
        except ValueError:
            continue
    return ids, not start


def _result_ids(path: Path) -> list[str]:
    """The last results' message ids kept in a run's ``RESULT_IDS_FILE``."""
    try:
        with path.open("rb") as file:
            size = file.seek(0, 2)
            start = max(0, size - TAIL_BYTES)
            file.seek(start)
            lines = file.read().split(b"\n")
    except FileNotFoundError:
        return []
    if start:
        lines = lines[1:]  # maybe cut
    ids = []
    for line in lines[-DEDUP_WINDOW:]:
        try:
            msg_id = json.loads(line)
        except ValueError:
            continue  # the last line of a crash, or an empty one
        if isinstance(msg_id, str):
            ids.append(msg_id)
    return ids


def _last(items: list[str], n: int) -> list[str]:
    """The last *n* items (none when *n* <= 0)."""
    return items[len(items) - n :] if n > 0 else []


def _max_steps(path: Path) -> dict[str, int]:
    """The highest step of each metric name in a ``metrics.jsonl``."""
    steps: dict[str, int] = {}
    try:
        with path.open("rb") as file:
            for line in file:
                match = _LINE.search(line)
                if match is not None:
                    name, step = match.group(1).decode(), int(match.group(2))
                    if step > steps.get(name, -1):
                        steps[name] = step
    except FileNotFoundError:
        pass
    return steps
