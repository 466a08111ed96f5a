"""The history and observer API every tracked container shares (a mixin).

Private: see :mod:`ml_infra_utils.logging.changes`. The machinery behind it
(links, records, observer calls) is in ``_tracking.py``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable
from typing import Any

from ml_infra_utils._errors import ChangeHistoryError, InputTypeError

from ._change import ADOPT, KINDS, LOCK, TRACKED, Change
from ._patch import SameChange, apply, inverse, target_of, to_json_patch
from ._tracking import Observer, Options, State, deferred_notify, kept, refresh

__all__ = ["Tracked", "as_change"]

_new_change = tuple.__new__


class Tracked:
    """The history and observer API shared by the tracked classes (a mixin).

    Subclasses are registered here so that storing one in a tracked container
    links it as a child; their ``_tk_kind`` says how the values are held
    (``1`` dict, ``2`` list, ``3`` attributes).
    """

    __slots__ = ()
    _tk_kind = 0
    _tk_depth = 0  # > 0 while a TrackedObject's __init__ runs (its own slot)
    _tk: State
    _tk_fast: Callable[[tuple[Any, ...]], None] | None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls._tk_kind:
            KINDS[cls] = cls._tk_kind
            TRACKED.add(cls)
            ADOPT[cls] = True

    # ---------------------------------------------------------------- setup
    def _tk_setup(self, options: Options) -> None:
        state = State(options)
        object.__setattr__(self, "_tk", state)
        refresh(self)

    def _tk_holds(self, key: Hashable, child: object) -> bool:
        raise NotImplementedError  # pragma: no cover - each class has one

    def _tk_find(self, child: object) -> list[Hashable]:
        raise NotImplementedError  # pragma: no cover - each class has one

    # ---------------------------------------------------------------- history
    def changes(self) -> list[Change]:
        """Every recorded change, oldest first (at most ``max_history``).

        Includes the changes of nested containers, with their full path from
        this one.
        """
        history = self._tk.history
        if history is None:
            return []
        with LOCK:
            raws = list(history)
            hidden = len(raws) - kept(history)
        return [as_change(raw) for raw in raws[hidden:]]

    def last_change(self) -> Change | None:
        """The most recent change, or ``None`` if nothing was recorded."""
        history = self._tk.history
        try:
            return as_change(history[-1])  # type: ignore[index]
        except (IndexError, TypeError):
            return None

    def changes_since(self, since: Change | int, /) -> list[Change]:
        """The changes recorded after *since* (a record or a ``seq``), oldest first.

        Costs time in the number of changes returned, not in the history's
        length.

        Raises:
            InputTypeError: *since* is neither a :class:`Change` nor an int.
        """
        seq = _seq_of(since, "since")
        history = self._tk.history
        if history is None:
            return []
        found: list[tuple[Any, ...]] = []
        with LOCK:
            for raw in itertools.islice(reversed(history), kept(history)):
                if raw[0] <= seq:
                    break
                found.append(raw)
        found.reverse()
        return [as_change(raw) for raw in found]

    # ---------------------------------------------------------------- observers
    def add_observer(self, observer: Observer, /) -> Observer:
        """Call *observer(record)* after every change here or in a nested container.

        Observers run synchronously in the thread that made the change, after
        it (outside the lock), in the order they were added; this container's
        observers run before its parents'. An observer that raises is logged
        and counted (:attr:`observer_errors`); the change and the other
        observers are unaffected. Adding an observer twice has no effect.
        Returns *observer*, so this works as a decorator.

        Raises:
            InputTypeError: *observer* is not callable.
        """
        given: object = observer  # users without a type checker pass anything
        if not callable(given):
            msg = f"observer must be callable, got {type(given).__name__}"
            raise InputTypeError(msg)
        with LOCK:
            state = self._tk
            if observer not in state.observers:
                state.observers = (*state.observers, observer)
                refresh(self)
        return observer

    def remove_observer(self, observer: Observer, /) -> bool:
        """Stop calling *observer*; returns whether it was registered."""
        with LOCK:
            state = self._tk
            if observer not in state.observers:
                return False
            state.observers = tuple(o for o in state.observers if o != observer)
            refresh(self)
            return True

    @property
    def observers(self) -> tuple[Observer, ...]:
        """The registered observers, in calling order."""
        return self._tk.observers

    @property
    def observer_errors(self) -> int:
        """How many times an observer of this container raised."""
        return self._tk.errors

    def _tk_options(self) -> dict[str, Any]:
        return self._tk.options.as_kwargs()

    # ---------------------------------------------------------------- undo
    def to_json_patch(
        self, *, since: Change | int | None = None, test: bool = False
    ) -> list[dict[str, Any]]:
        """The history (or the changes after *since*) as RFC 6902 operations.

        Applied to a plain copy of this container as it was before those
        changes, the patch gives its current content (see
        :func:`~ml_infra_utils.to_json_patch`).
        """
        records = self.changes() if since is None else self.changes_since(since)
        return to_json_patch(records, test=test)

    def undo(self) -> Change:
        """Undo the most recent change, recording the undo as a new change.

        Like ``git revert``: the undo is itself a change (observers and
        parents see it), so a second ``undo()`` redoes. To go back several
        steps use :meth:`revert`. Dict keys that come back are inserted at
        the end (key order may differ; equality holds). Observers run after
        the undo, outside the lock.

        Returns:
            The record of the undo.

        Raises:
            ChangeHistoryError: there is nothing to undo, or the change no
                longer applies.
        """
        # Observers run after the lock is released (deferred_notify), so the
        # last record is the undo's, not one an observer wrote.
        with deferred_notify(), LOCK:
            last = self.last_change()
            if last is None:
                msg = f"nothing to undo: the {type(self).__name__}'s history is empty"
                raise ChangeHistoryError(msg)
            self._tk_undo([last])
            done = self.last_change()
        assert done is not None  # noqa: S101 - the undo was just recorded
        return done

    def revert(self, to: Change | int, /) -> int:
        """Undo every change recorded after *to* (a record or a seq), newest first.

        Each undo is recorded as a change; observers see them once the revert
        is done, outside the lock. Pass ``0`` to go back to the state
        before the first recorded change (only if nothing was dropped by
        ``max_history``).

        Returns:
            How many changes were undone (a change of a child stored at two
            places is recorded twice but undone once).

        Raises:
            ChangeHistoryError: changes after *to* were dropped by
                ``max_history``, or a change no longer applies.
            InputTypeError: *to* is neither a Change nor an int.
        """
        seq = _seq_of(to, "to")
        with deferred_notify(), LOCK:
            history = self._tk.history
            if history is None:
                msg = "cannot revert: this container keeps no history (max_history=0)"
                raise ChangeHistoryError(msg)
            # The changes after seq are all kept unless the history is full
            # and its hidden oldest entry (the witness) is after seq too.
            limit = history.maxlen
            if limit is not None and len(history) == limit and history[0][0] > seq:
                msg = (
                    f"cannot revert to seq {seq}: older changes were dropped "
                    f"(max_history={limit - 1}); the oldest kept is "
                    f"seq {history[1][0]}"
                )
                raise ChangeHistoryError(msg)
            return self._tk_undo(self.changes_since(seq))

    def _tk_undo(self, records: list[Change]) -> int:
        done: set[int] = set()
        same = SameChange()
        for record in reversed(records):
            try:
                if same.seen(record.seq, target_of(self, record.action, record.path)):
                    continue
                done.add(record.seq)
                apply(self, *inverse(self, *record[2:6]))
            except (LookupError, TypeError, ValueError, AttributeError) as exc:
                msg = (
                    f"cannot undo change {record.seq} ({record.action} at "
                    f"{record.path!r}): the container no longer matches its "
                    f"history ({type(exc).__name__}: {exc})"
                )
                raise ChangeHistoryError(msg) from exc
        return len(done)


def as_change(raw: tuple[Any, ...]) -> Change:
    """The :class:`Change` for a history entry.

    Entries are the record's fields, except that the fast paths store a
    7-tuple whose path is the bare key (no path tuple, no snapshot, no stack).
    """
    if len(raw) == 7:
        seq, t, action, key, old, new, actor = raw
        return _new_change(
            Change, (seq, t, action, (key,), old, new, actor, None, None)
        )
    return _new_change(Change, raw)


def _seq_of(since: object, argument: str) -> int:
    if isinstance(since, Change):
        return since.seq
    if type(since) is int:
        return since
    msg = f"{argument} must be a Change or an int seq, got {type(since).__name__}"
    raise InputTypeError(msg)
