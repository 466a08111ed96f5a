"""`ml-infra-utils metrics`: the classification report of two files."""

from __future__ import annotations

import io
import json
import math
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ml_infra_utils import classification_report
from ml_infra_utils.cli import main

if TYPE_CHECKING:
    from conftest import RunCli


def write(tmp: Path, name: str, text: str) -> str:
    """Write *text* to tmp/name and return the path as a string."""
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_plain_files_give_the_library_report(tmp_path: Path, run_cli: RunCli) -> None:
    """Ints from plain files; the text is classification_report's."""
    preds = write(tmp_path, "p.txt", "1\n0\n1\n1\n0\n2\n")
    labels = write(tmp_path, "l.txt", "1\n0\n0\n1\n0\n2\n")
    code, out, err = run_cli("metrics", "--predictions", preds, "--labels", labels)
    assert (code, err) == (0, "")
    assert out == classification_report([1, 0, 1, 1, 0, 2], [1, 0, 0, 1, 0, 2])
    assert out.endswith("\n")


def test_one_file_with_two_columns(tmp_path: Path, run_cli: RunCli) -> None:
    """The same CSV for both: columns found by name; --digits passes through."""
    both = write(
        tmp_path, "eval.csv", "id,pred,label\n1,cat,dog\n2,dog,dog\n3,cat,cat\n"
    )
    code, out, _ = run_cli(
        "metrics", "--predictions", both, "--labels", both, "--digits", "3"
    )
    assert code == 0
    assert out == classification_report(
        ["cat", "dog", "cat"], ["dog", "dog", "cat"], digits=3
    )


def test_explicit_columns(tmp_path: Path, run_cli: RunCli) -> None:
    """--predictions-column and --labels-column win over --column."""
    both = write(tmp_path, "eval.csv", "a,b,c\nx,y,x\ny,y,y\n")
    _, out, _ = run_cli("metrics", "--predictions", both, "--labels", both,
        "--column", "a", "--labels-column", "c",
    )  # fmt: skip
    assert out == classification_report(["x", "y"], ["x", "y"])


def test_json_output_is_the_report_dict(tmp_path: Path, run_cli: RunCli) -> None:
    """--json (alias --output-dict) prints output_dict=True as strict JSON."""
    preds = write(tmp_path, "p.txt", "1\n1\n")
    labels = write(tmp_path, "l.txt", "0\n1\n")
    want = classification_report(
        [1, 1], [0, 1], output_dict=True, zero_division=math.nan
    )
    for flag in ("--json", "--output-dict"):
        code, out, _ = run_cli(
            "metrics", "--predictions", preds, "--labels", labels, flag,
            "--zero-division", "nan",
        )  # fmt: skip
        assert code == 0
        got = json.loads(out)
        assert got["1"] == want["1"]
        assert got["0"]["precision"] == "NaN"  # strict JSON: NaN as the store's string
        assert math.isnan(want["0"]["precision"])


def test_stdin_for_one_file(
    tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """'-' reads stdin; both from stdin is an error."""
    labels = write(tmp_path, "l.txt", "a\nb\n")
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"a\na\n")))
    _, out, _ = run_cli("metrics", "--predictions", "-", "--labels", labels)
    assert out == classification_report(["a", "a"], ["a", "b"])
    code, _, err = run_cli("metrics", "--predictions", "-", "--labels", "-")
    assert code == 1
    assert "cannot both be -" in err


@pytest.mark.parametrize(
    ("preds", "labels", "message"),
    [
        ("1\n0\n", "1\n0\n1\n", "p.txt has 2 predictions but"),
        ("", "1\n", "p.txt holds no predictions"),
        ("1\n0.7\n", "1\n0\n", "p.txt line 2: '0.7' is not a class"),
        ("1\n\n0\n", "1\n0\n", "p.txt line 2 is blank"),
        ("1\nnan\n", "1\n0\n", "p.txt line 2: 'nan' is a missing value"),
    ],
)
def test_bad_files_fail_with_one_clear_line(
    tmp_path: Path,
    run_cli: RunCli,
    preds: str,
    labels: str,
    message: str,
) -> None:
    """Exit 1 and one line on stderr naming the file and the problem."""
    p = write(tmp_path, "p.txt", preds)
    lab = write(tmp_path, "l.txt", labels)
    code, out, err = run_cli("metrics", "--predictions", p, "--labels", lab)
    assert (code, out) == (1, "")
    assert err.startswith("ml-infra-utils: error: ")
    assert message in err
    assert err.count("\n") == 1


def test_a_length_mismatch_after_a_guessed_header_says_so(
    tmp_path: Path, run_cli: RunCli
) -> None:
    """When a header row was left out, the error tells how to keep it."""
    p = write(tmp_path, "p.txt", "1\n0\n1\n")
    lab = write(tmp_path, "l.txt", "label\n1\n0\n1\n")
    code, _, _ = run_cli("metrics", "--predictions", p, "--labels", lab)
    assert code == 0
    p = write(tmp_path, "p.txt", "class\n1\n0\n")
    code, _, err = run_cli("metrics", "--predictions", p, "--labels", lab)
    assert code == 1
    assert "2 predictions but" in err
    p = write(tmp_path, "p.txt", "1\n1\n0\n1\n")
    _, _, err = run_cli("metrics", "--predictions", p, "--labels", lab)
    assert "a header row was left out of" in err
    assert "--no-header keeps it" in err


def test_boolean_labels_keep_their_first_row(tmp_path: Path, run_cli: RunCli) -> None:
    """review-3 F1: `true`/`false` files: all four rows count, no header guessed."""
    p = write(tmp_path, "p.txt", "true\ntrue\ntrue\nfalse\n")
    lab = write(tmp_path, "l.txt", "true\nfalse\ntrue\nfalse\n")
    code, out, err = run_cli("metrics", "--predictions", p, "--labels", lab)
    assert (code, err) == (0, "")
    want = classification_report(
        ["true", "true", "true", "false"], ["true", "false", "true", "false"]
    )
    assert out == want
    assert "accuracy                           0.75         4" in out


def test_a_guessed_header_is_announced(tmp_path: Path, run_cli: RunCli) -> None:
    """A header is guessed only above numbers, and a warning names it."""
    p = write(tmp_path, "p.txt", "1\n0\n1\n")
    lab = write(tmp_path, "l.txt", "target\n1\n0\n0\n")
    code, out, err = run_cli("metrics", "--predictions", p, "--labels", lab)
    assert code == 0
    assert out == classification_report([1, 0, 1], [1, 0, 0])
    assert err == (
        f"ml-infra-utils: warning: {lab}: first line 'target' read as a header "
        "(the only line that is not a number; --no-header keeps it)\n"
    )
    for option in ("--header", "--no-header"):
        p = write(tmp_path, "p.txt", "1\n0\n1\n1\n")
        code, _, err = run_cli("metrics", "--predictions", p, "--labels", lab, option)
        assert "warning" not in err
    p = write(tmp_path, "p.txt", "1\n0\n1\n")
    code, _, err = run_cli(
        "metrics", "--predictions", p, "--labels", lab, "--column", "target"
    )
    assert (code, err) == (0, "")


def test_disjoint_classes_warn(tmp_path: Path, run_cli: RunCli) -> None:
    """Class names against class numbers: a warning, and the report anyway."""
    p = write(tmp_path, "p.txt", "0\n1\n")
    lab = write(tmp_path, "l.txt", "cat\ndog\n")
    code, out, err = run_cli("metrics", "--predictions", p, "--labels", lab)
    assert code == 0
    assert "accuracy" in out
    assert err.startswith(
        "ml-infra-utils: warning: no predicted class is among the true"
    )


def test_missing_file_and_bad_digits(tmp_path: Path, run_cli: RunCli) -> None:
    """A missing file is exit 1; a non-integer --digits is a usage error (2)."""
    lab = write(tmp_path, "l.txt", "1\n")
    code, _, err = run_cli("metrics", "--predictions", "nope.txt", "--labels", lab)
    assert (code, err) == (
        1,
        "ml-infra-utils: error: No such file or directory (nope.txt)\n",
    )
    code, _, _ = run_cli(
        "metrics", "--predictions", lab, "--labels", lab, "--digits", "x"
    )
    assert code == 2
    code, _, err = run_cli(
        "metrics", "--predictions", lab, "--labels", lab, "--digits", "-1"
    )
    assert code == 1
    assert "digits" in err
    code, _, err = run_cli("metrics", "--labels", lab)
    assert code == 2
    assert "--predictions" in err


@settings(max_examples=25)
@given(
    st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=1, max_size=60),
    st.sampled_from(["{}", "{}.0", " {} ", "+{}"]),
)
def test_matches_scikit_learn(pairs: list[tuple[int, int]], spelling: str) -> None:
    """Whatever the spelling of the numbers, the text equals scikit-learn's report."""
    from sklearn.metrics import classification_report as sk_report

    preds = [p for p, _ in pairs]
    labels = [t for _, t in pairs]
    with tempfile.TemporaryDirectory() as tmp:
        p = write(Path(tmp), "p.txt", "".join(spelling.format(v) + "\n" for v in preds))
        lab = write(Path(tmp), "l.txt", "".join(f"{v}\n" for v in labels))
        out = io.StringIO()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("sys.stdout", out)
            assert main(["metrics", "--predictions", p, "--labels", lab]) == 0
    assert out.getvalue() == sk_report(labels, preds, zero_division=0)


def test_text_report_escapes_control_characters(
    tmp_path: Path, run_cli: RunCli
) -> None:
    """review-3 F9: a label file cannot send escape codes to the terminal."""
    labels = "a\x1b[31mred\nb\na\x1b[31mred\n"
    p = write(tmp_path, "p.txt", labels)
    lab = write(tmp_path, "l.txt", labels)
    code, out, err = run_cli("metrics", "--predictions", p, "--labels", lab)
    assert (code, err) == (0, "")
    assert "\x1b" not in out
    assert out == classification_report(
        ["a\\x1b[31mred", "b", "a\\x1b[31mred"], ["a\\x1b[31mred", "b", "a\\x1b[31mred"]
    )
    code, out, _ = run_cli("metrics", "--predictions", p, "--labels", lab, "--json")
    assert code == 0
    assert "a\x1b[31mred" in json.loads(out)


def test_escaping_never_merges_two_classes(tmp_path: Path, run_cli: RunCli) -> None:
    """A tab label and a backslash-t label stay two classes in the text report."""
    p = write(tmp_path, "p.csv", 'label,n\n"a\tb",1\n"a\\tb",2\n')
    lab = write(tmp_path, "l.csv", 'label,n\n"a\tb",1\n"a\tb",2\n')
    code, out, _ = run_cli(
        "metrics", "--predictions", p, "--labels", lab, "--column", "label"
    )
    assert code == 0
    assert "\t" not in out
    assert out == classification_report(["'a\\tb'", "'a\\\\tb'"], ["'a\\tb'"] * 2)


def test_a_word_the_other_file_holds_as_a_label_is_no_header(
    tmp_path: Path, run_cli: RunCli
) -> None:
    """review-3 F1: `other` above numbers is a class when the other file has it."""
    p = write(tmp_path, "p.txt", "other\n1\n2\n1\n")
    lab = write(tmp_path, "l.txt", "1\nother\n2\n2\n")
    code, out, err = run_cli("metrics", "--predictions", p, "--labels", lab)
    assert (code, err) == (0, "")
    assert out == classification_report(
        ["other", "1", "2", "1"], ["1", "other", "2", "2"]
    )
