"""The commands of ``ml-infra-utils`` behind :mod:`ml_infra_utils.cli`.

``cli.py`` builds the parser with ``add_parser`` of :mod:`.runs` (the parsers
of ``runs list/show/compare/export``) and :mod:`.metrics` (``metrics``). Those
two modules import nothing heavy; each command's code is imported when it runs:
:mod:`.listing` (``runs list``), :mod:`.show` (``runs show`` and ``compare``),
:mod:`.export` (``runs export``), :mod:`.labels` (reading label files). Shared
helpers: :mod:`.store` (finding runs by id, prefix or path), :mod:`.render`
(numbers, times, cut text, sparklines), :mod:`.table` (aligned tables),
:mod:`.progress` (one updating line on a terminal's stderr) and :mod:`.output`
(strict JSON, atomic files, warnings). Nothing here is public API; the commands
and their output are documented in ``docs/cli.md``.
"""

from __future__ import annotations

__all__: list[str] = []
