"""`ml-infra-utils runs list` and how a RUN argument finds its run."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from ml_infra_utils import list_runs
from ml_infra_utils._cli.listing import pick_results
from ml_infra_utils._cli.store import find_run, read_runs, store_root
from ml_infra_utils._errors import InvalidParameterError, RunNotFoundError

if TYPE_CHECKING:
    from pathlib import Path

    from conftest import RunCli, Store


# ---------------------------------------------------------------- list
def test_list_shows_every_run_with_its_key_results(
    store: Store, run_cli: RunCli
) -> None:
    """One row per run, oldest first; result columns; '-' where a run has none."""
    code, out, err = run_cli("runs", "list", "--runs-dir", str(store.root))
    assert (code, err) == (0, "")
    header, *rows = out.splitlines()
    assert header.split() == [
        "EXPERIMENT", "RUN", "NAME", "STATUS", "START", "(UTC)", "DURATION",
        "test/acc", "test/f1",
    ]  # fmt: skip
    assert [row.split()[1] for row in rows] == [store.good, store.failed, store.other]
    good, failed, other = rows
    assert good.split()[2:4] == ["baseline", "finished"]
    assert good.endswith("0.9312    0.925")
    assert failed.split()[2] == "failed"
    assert failed.endswith("-        -")
    assert other.endswith("0.7        -")
    assert len({len(line) for line in [header, good]}) == 1  # aligned


def test_list_filters_by_experiment_and_status(store: Store, run_cli: RunCli) -> None:
    """--experiment and repeated --status narrow the table."""
    root = str(store.root)
    _, out, _ = run_cli("runs", "list", "--runs-dir", root, "--experiment", "cifar")
    assert store.other in out
    assert store.good not in out
    _, out, _ = run_cli("runs", "list", "--runs-dir", root, "--status", "failed")
    assert store.failed in out
    assert store.good not in out
    _, out, _ = run_cli(
        "runs",
        "list",
        "--runs-dir",
        root,
        "--status",
        "failed",
        "--status",
        "finished",
    )
    assert all(i in out for i in (store.good, store.failed, store.other))


def test_list_results_option_chooses_the_columns(store: Store, run_cli: RunCli) -> None:
    """--results names the result columns in order."""
    _, out, _ = run_cli(
        "runs",
        "list",
        "--runs-dir",
        str(store.root),
        "--results",
        "test/f1, nope",
    )
    assert out.splitlines()[0].split()[-2:] == ["test/f1", "nope"]


def test_list_json_is_the_run_records(store: Store, run_cli: RunCli) -> None:
    """--format json prints list_runs' records as one strict JSON array."""
    code, out, _ = run_cli(
        "runs", "list", "--runs-dir", str(store.root), "--format", "json"
    )
    assert code == 0
    assert json.loads(out) == json.loads(json.dumps(list_runs(store.root)))


def test_list_narrow_terminal_leaves_out_result_columns(
    store: Store, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """COLUMNS=80: every line fits, and a note says which columns were left out."""
    monkeypatch.setenv("COLUMNS", "80")
    _, out, _ = run_cli("runs", "list", "--runs-dir", str(store.root), "--ascii")
    lines = out.splitlines()
    assert all(len(line) <= 80 for line in lines[:-1])
    assert lines[-1].startswith("(2 of 2 result columns left out")
    assert "…" not in out


def test_list_empty_store_is_a_friendly_message(
    tmp_path: Path, run_cli: RunCli
) -> None:
    """No runs yet: a message on stdout, exit 0; JSON gives []."""
    code, out, err = run_cli("runs", "list", "--runs-dir", str(tmp_path))
    assert (code, err) == (0, "")
    assert out.startswith(f"No runs in {tmp_path} yet.")
    _, out, _ = run_cli("runs", "list", "--runs-dir", str(tmp_path), "--format", "json")
    assert out == "[]\n"


def test_list_nothing_matching_says_why(store: Store, run_cli: RunCli) -> None:
    """An unknown experiment lists the known ones; a status filter counts the rest."""
    root = str(store.root)
    code, out, _ = run_cli("runs", "list", "--runs-dir", root, "--experiment", "x")
    assert code == 0
    assert "No runs of experiment 'x'" in out
    assert "(experiments: cifar, mnist)" in out
    _, out, _ = run_cli("runs", "list", "--runs-dir", root, "--status", "killed")
    assert out == f"No killed runs among the 3 in {root}.\n"


def test_list_missing_directory_is_an_error(
    tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exit 1 and one line naming the directory and where it came from."""
    missing = tmp_path / "nope"
    code, out, err = run_cli("runs", "list", "--runs-dir", str(missing))
    assert (code, out) == (1, "")
    want = f"runs directory {missing} does not exist (--runs-dir)"
    assert err == f"ml-infra-utils: error: {want}\n"
    monkeypatch.setenv("ML_INFRA_UTILS_RUNS_DIR", str(missing))
    _, _, err = run_cli("runs", "list")
    assert "(from $ML_INFRA_UTILS_RUNS_DIR)" in err
    monkeypatch.delenv("ML_INFRA_UTILS_RUNS_DIR")
    monkeypatch.chdir(tmp_path)
    _, _, err = run_cli("runs", "list")
    assert "runs directory runs does not exist (the default; use --runs-dir" in err
    (tmp_path / "file").write_text("")
    _, _, err = run_cli("runs", "list", "--runs-dir", str(tmp_path / "file"))
    assert "is not a directory" in err


def test_list_reads_the_environment_variable(
    store: Store, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --runs-dir, $ML_INFRA_UTILS_RUNS_DIR is the store."""
    monkeypatch.setenv("ML_INFRA_UTILS_RUNS_DIR", str(store.root))
    code, out, _ = run_cli("runs", "list")
    assert code == 0
    assert store.good in out


def test_list_skips_unreadable_runs_with_a_warning(
    fresh_store: Store, run_cli: RunCli
) -> None:
    """A corrupt run.json is named on stderr; the other runs are listed."""
    (fresh_store.path(fresh_store.other) / "run.json").write_text("{not json")
    (fresh_store.root / ".spool").mkdir()
    (fresh_store.root / "mnist" / "not-a-run").mkdir()
    code, out, err = run_cli("runs", "list", "--runs-dir", str(fresh_store.root))
    assert code == 0
    assert fresh_store.good in out
    assert fresh_store.other not in out
    assert err.startswith("ml-infra-utils: warning: skipped ")
    assert "is not valid JSON" in err


def test_list_tolerates_fields_of_unexpected_types_and_new_fields(
    fresh_store: Store, run_cli: RunCli
) -> None:
    """A run.json from a newer writer (extra keys, odd values) still lists."""
    path = fresh_store.path(fresh_store.other) / "run.json"
    info = json.loads(path.read_text())
    info.update(
        status=None, duration="soon", start_time="sometime", results=[1], name=7,
        changes=[{"op": "set"}], experiment="cifar\x1b[31m",
    )  # fmt: skip
    path.write_text(json.dumps(info))
    code, out, _ = run_cli("runs", "list", "--runs-dir", str(fresh_store.root))
    assert code == 0
    row = next(line for line in out.splitlines() if fresh_store.other in line)
    assert "\x1b" not in row
    assert "sometime" in row


def test_pick_results_prefers_common_names() -> None:
    """The most common result names, ties alphabetical, at most three."""
    runs = [
        {"results": {"b": 1, "a": 2, "c": 3, "d": 4}},
        {"results": {"d": 1}},
        {"results": 5},
    ]
    assert pick_results(runs) == ["d", "a", "b"]
    assert pick_results([]) == []


# ---------------------------------------------------------------- finding runs
def test_find_run_by_id_prefix_suffix_experiment_and_path(store: Store) -> None:
    """Every documented spelling of RUN finds the same directory."""
    root = str(store.root)
    good = store.path(store.good)
    assert find_run(store.good, root) == good
    assert find_run(f"mnist/{store.good}", root) == good
    assert find_run(f"mnist/{store.good[:-3]}", root) == good
    assert find_run(store.good.rsplit("-", 1)[1][:5], root) == good
    assert find_run(str(good), None) == good
    assert find_run(str(good / "run.json"), None) == good
    assert find_run("baseline", root) == good
    assert find_run("mnist/baseline", root) == good


def test_find_run_errors(store: Store, tmp_path: Path) -> None:
    """Ambiguous prefixes list the candidates; unknown ones point at `runs list`."""
    root = str(store.root)
    with pytest.raises(
        InvalidParameterError, match="is ambiguous: it matches 3 runs: cifar/"
    ):
        find_run(store.good[:4], root)
    with pytest.raises(RunNotFoundError, match=r"no run matches 'zzz'.*runs list"):
        find_run("zzz", root)
    with pytest.raises(RunNotFoundError, match="no run matches 'cifar/"):
        find_run(f"cifar/{store.good}", root)
    with pytest.raises(RunNotFoundError, match="not a run directory"):
        find_run(str(tmp_path), root)
    with pytest.raises(RunNotFoundError, match="not a run directory"):
        find_run("a/b/c", root)
    for path_like in ("../mnist", "/etc", "mnist/.."):
        with pytest.raises(RunNotFoundError):
            find_run(f"{path_like}/{store.good}", root)
    with pytest.raises(InvalidParameterError, match="RUN is empty"):
        find_run(" ", root)
    with pytest.raises(RunNotFoundError, match="does not exist"):
        find_run("abc", str(tmp_path / "missing"))


def test_names_can_be_ambiguous_too(fresh_store: Store) -> None:
    """Two runs named alike: the error lists both; an unreadable run is skipped."""
    for run_id in (fresh_store.failed, fresh_store.other):
        path = fresh_store.path(run_id) / "run.json"
        path.write_text(path.read_text().replace('"name": null', '"name": "twin"'))
    root = str(fresh_store.root)
    with pytest.raises(
        InvalidParameterError, match="'twin' is ambiguous: it matches 2"
    ):
        find_run("twin", root)
    (fresh_store.path(fresh_store.other) / "run.json").write_text("[")
    assert find_run("twin", root) == fresh_store.path(fresh_store.failed)


def test_ambiguity_lists_at_most_eight_candidates(tmp_path: Path) -> None:
    """With many matches the message stays one readable line."""
    for i in range(10):
        (tmp_path / "e" / f"20260101-000000-0000000{i}").mkdir(parents=True)
        (tmp_path / "e" / f"20260101-000000-0000000{i}" / "run.json").write_text("{}")
    with pytest.raises(InvalidParameterError, match="and 2 more; give more") as exc:
        find_run("2026", str(tmp_path))
    assert "\n" not in str(exc.value)


def test_read_runs_matches_list_runs(store: Store) -> None:
    """The CLI's own walk gives what list_runs gives."""
    runs, problems = read_runs(store_root(str(store.root)))
    assert problems == []
    assert runs == list_runs(store.root)


def test_runs_without_a_command_prints_its_help(
    run_cli: RunCli,
) -> None:
    """`ml-infra-utils runs` lists the four commands and exits 0."""
    code, out, _ = run_cli("runs")
    assert code == 0
    for command in ("list", "show", "compare", "export"):
        assert command in out


@pytest.mark.parametrize("command", ["list", "show", "compare", "export"])
def test_every_runs_command_has_help(command: str, run_cli: RunCli) -> None:
    """--help works for each command and mentions --runs-dir."""
    code, out, _ = run_cli("runs", command, "--help")
    assert code == 0
    assert "--runs-dir" in out


def test_debug_after_the_command_shows_the_traceback(
    tmp_path: Path, run_cli: RunCli
) -> None:
    """--debug is accepted after the command too."""
    code, _, err = run_cli("runs", "list", "--runs-dir", str(tmp_path / "x"), "--debug")
    assert code == 1
    assert "Traceback" in err
    assert err.rstrip().endswith("(--runs-dir)")


def test_a_closed_stdout_and_ctrl_c_have_their_exit_codes(
    store: Store, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BrokenPipeError: 141 and silence; KeyboardInterrupt: 130."""
    from ml_infra_utils._cli import listing as runs

    def broken(args: object) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def interrupted(args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(runs, "run_list", broken)
    code, out, err = run_cli("runs", "list", "--runs-dir", str(store.root))
    assert (code, out, err) == (141, "", "")
    monkeypatch.setattr(runs, "run_list", interrupted)
    assert run_cli("runs", "list")[0] == 130


def test_deeply_nested_json_is_a_corrupt_run_not_a_traceback(
    fresh_store: Store, run_cli: RunCli
) -> None:
    """review-3 F2: list skips the run; show and export fail in one line, exit 1."""
    deep = "[" * 100_000
    (fresh_store.path(fresh_store.other) / "run.json").write_text(deep)
    metrics = fresh_store.path(fresh_store.good) / "metrics.jsonl"
    with metrics.open("a") as file:
        file.write('{"name": "x", "step": 0, "value": ' + deep + "}\n")
    root = ["--runs-dir", str(fresh_store.root)]
    code, out, err = run_cli("runs", "list", *root)
    assert code == 0
    assert fresh_store.good in out
    assert fresh_store.other not in out
    assert err.startswith("ml-infra-utils: warning: skipped ")
    assert "nested too deeply" in err
    assert "Traceback" not in err
    for command in ("show", "export"):
        code, out, err = run_cli("runs", command, fresh_store.other, *root)
        assert (code, out) == (1, "")
        assert err.startswith("ml-infra-utils: error: ")
        assert err.endswith("is nested too deeply to read\n")
        assert err.count("\n") == 1
        code, out, err = run_cli("runs", command, fresh_store.good, *root)
        assert code == 0
        assert "1 unreadable line of metrics.jsonl skipped" in out + err
    assert [r["id"] for r in list_runs(fresh_store.root)].count(fresh_store.other) == 0
