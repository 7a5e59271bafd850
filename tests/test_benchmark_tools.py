"""The benchmark scripts' own arithmetic (their timings are not tested: speed is shown by
benchmarks, never by timed tests)."""

import json

import numpy as np
import pytest
import stages

import workloads
from compile_times import compile_table


def test_compile_table_splits_nested_compiles_from_their_caller():
    # kernel compiles from t=0 to t=10; inside it, helper a (1-4, which compiles b at 2-3)
    # and helper c (5-6); then score alone (11-13).
    events = [
        (0.0, True, "kernel", "(f8[:, :],)", "fit"),
        (1.0, True, "a", "()", "fit"),
        (2.0, True, "b", "()", "fit"),
        (3.0, False, "b", "()", "fit"),
        (4.0, False, "a", "()", "fit"),
        (5.0, True, "c", "()", "fit"),
        (6.0, False, "c", "()", "fit"),
        (10.0, False, "kernel", "(f8[:, :],)", "fit"),
        (11.0, True, "score", "()", "predict"),
        (13.0, False, "score", "()", "predict"),
    ]
    rows = compile_table(events)
    assert [row[0] for row in rows] == ["kernel", "a", "b", "c", "score"]  # by start
    own = {name: own for name, _, _, own, _ in rows}
    total = {name: total for name, _, _, _, total in rows}
    assert own == pytest.approx({"kernel": 6.0, "a": 2.0, "b": 1.0, "c": 1.0, "score": 2.0})
    assert total == pytest.approx({"kernel": 10.0, "a": 3.0, "b": 1.0, "c": 1.0, "score": 2.0})
    assert sum(own.values()) == pytest.approx(12.0)  # every second counted once


def test_stage_script_times_every_stage_and_its_row_body_agrees(monkeypatch):
    monkeypatch.setattr(workloads, "QUICK", True)  # 20,000 x 2
    # stage_times checks the row-at-a-time body's statistics against run_pass's.
    times = stages.stage_times("W1", np.dtype(np.float64), repeats=1)
    assert list(times) == [
        "transpose",
        "log-densities",
        "E-step",
        "moments",
        "run_pass",
        "row-at-a-time body",
    ]
    assert all(np.isfinite(ms) for ms in times.values())


def test_factor_comparison_evaluates_one_mixture_in_both_kernels(monkeypatch):
    monkeypatch.setattr(workloads, "QUICK", True)
    times, (factor_log_likelihood, full_log_likelihood) = stages.factor_against_full(
        np.dtype(np.float64), repeats=1
    )
    assert list(times) == ["factor pass", "full pass"]
    assert factor_log_likelihood == pytest.approx(full_log_likelihood, rel=1e-10)


def test_compare_json_holds_the_rows_the_speed_example_plots(monkeypatch, tmp_path, capsys):
    # docs/examples/plot_speed_comparison.py reads these fields from compare.py --json.
    pytest.importorskip("sklearn", reason="compare.py times scikit-learn too")
    import compare

    monkeypatch.setattr(workloads, "QUICK", workloads.QUICK)  # --quick sets it: restore it
    path = tmp_path / "compare.json"
    compare.main(
        ["--quick", "--no-extras", "--workloads", "W1", "--repeats", "1", "--json", str(path)]
    )
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["statistic"] == "minimum" and document["repeats"] == 1
    (row,) = document["iterations"]
    assert row["workload"] == "W1" and row["target"] == compare.ITERATION_TARGETS["W1"]
    for key in ("sklearn_seconds", "fastgmm_seconds", "limit_seconds"):
        assert row[key] > 0
    assert row["bound"] in ("memory", "flops")
    # The printed row shows the same fastgmm seconds as the file.
    assert f"{row['fastgmm_seconds']:.4f}s" in capsys.readouterr().out


def test_compare_json_refuses_the_options_that_leave_out_its_rows(tmp_path):
    import compare

    for only in compare.ONLY_OPTIONS:
        option = "--" + only.replace("_", "-")
        with pytest.raises(SystemExit):
            compare.main([option, "--json", str(tmp_path / "rows.json")])
    assert not (tmp_path / "rows.json").exists()
