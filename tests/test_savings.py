"""Saving formulas and default costs: one place, documented figures."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from assetmap.errors import InvalidArgumentError
from assetmap.savings import (
    COST_SOURCE,
    DEFAULT_COST_PER_SQFT,
    GPA_OFFICE_COST_PER_SQM,
    avoided_cost,
    check_cost_per_sqft,
    column_numbers,
    consolidation_saving,
    cost_per_sqft_problem,
    site_running_costs,
)
from assetmap.schema import SQFT_PER_SQM


def test_default_cost_is_the_gpa_office_average_per_square_foot():
    assert GPA_OFFICE_COST_PER_SQM == 558.0
    assert DEFAULT_COST_PER_SQFT == pytest.approx(558.0 / SQFT_PER_SQM)
    assert DEFAULT_COST_PER_SQFT == pytest.approx(51.84, abs=0.01)
    assert "£558 per m²" in COST_SOURCE and "£51.84 per sq ft" in COST_SOURCE


def test_running_costs_reported_estimated_or_unknown_aligned_to_the_input():
    sites = pd.DataFrame(
        {
            "running_cost_gbp": [120_000.0, np.nan, 0.0, np.nan],
            "floor_area_sqft": [5_000.0, 2_000.0, 1_000.0, np.nan],
        },
        index=["a", "b", "c", "d"],
    )
    costs = site_running_costs(sites)
    assert costs.index.tolist() == ["a", "b", "c", "d"]
    assert costs["cost_basis"].tolist() == ["reported", "estimated", "estimated", "unknown"]
    assert costs.loc["a", "running_cost_gbp"] == 120_000.0
    assert costs.loc["b", "running_cost_gbp"] == pytest.approx(2_000 * DEFAULT_COST_PER_SQFT)
    assert costs.loc["c", "running_cost_gbp"] == pytest.approx(1_000 * DEFAULT_COST_PER_SQFT)
    assert math.isnan(costs.loc["d", "running_cost_gbp"])
    own_rate = site_running_costs(sites, cost_per_sqft=10.0)
    assert own_rate.loc["b", "running_cost_gbp"] == 20_000.0


def test_running_costs_of_a_table_without_cost_columns_are_unknown():
    costs = site_running_costs(pd.DataFrame(index=[7]))
    assert costs["cost_basis"].tolist() == ["unknown"]


def test_consolidation_saving_prices_the_floor_area_that_leaves_the_estate():
    # 10,000 sq ft vacated costing £400,000; the hub needs 2,500 sq ft more: 75% leaves
    assert consolidation_saving(400_000.0, 10_000.0, 2_500.0) == pytest.approx(300_000.0)
    assert consolidation_saving(400_000.0, 10_000.0, 0.0) == pytest.approx(400_000.0)
    assert consolidation_saving(400_000.0, 10_000.0, 10_000.0) == 0.0
    assert consolidation_saving(400_000.0, 0.0, 0.0) == 0.0  # no floor area known
    out = consolidation_saving(
        np.array([100.0, 100.0, np.nan]), np.array([10.0, 10.0, 10.0]), np.array([5.0, 20.0, 0.0])
    )
    assert out.tolist() == [50.0, 0.0, 0.0]


def test_avoided_cost_is_space_times_the_default_cost():
    assert avoided_cost(40_000) == pytest.approx(40_000 * DEFAULT_COST_PER_SQFT)
    assert avoided_cost(1_000, cost_per_sqft=30.0) == 30_000.0
    assert avoided_cost(np.array([1.0, 2.0]), cost_per_sqft=2.0).tolist() == [2.0, 4.0]


@pytest.mark.parametrize("bad", [0, -1.5, float("nan"), float("inf"), "50", True, None])
def test_a_cost_per_square_foot_must_be_a_positive_number(bad):
    with pytest.raises(
        InvalidArgumentError,
        match=r"cost_per_sqft=.* is not valid; expected a positive number of pounds per square "
        r"foot a year",
    ):
        check_cost_per_sqft(bad)
    with pytest.raises(InvalidArgumentError, match="cost_per_sqft="):
        site_running_costs(pd.DataFrame({"floor_area_sqft": [1.0]}), cost_per_sqft=bad)


def test_the_cost_problem_is_the_message_the_check_raises():
    assert cost_per_sqft_problem(40) is None
    assert cost_per_sqft_problem(12.5) is None
    for bad in (0, -1.0, math.inf, math.nan, True, "40", None):
        problem = cost_per_sqft_problem(bad)
        assert problem is not None
        assert problem.startswith(f"cost_per_sqft={bad!r} is not valid; expected a positive")
        with pytest.raises(InvalidArgumentError, match="pounds per square foot a year"):
            check_cost_per_sqft(bad)


def test_column_numbers_reads_figures_as_floats_nan_where_missing():
    frame = pd.DataFrame({"floor_area_sqft": [1_200, None, "n/a", "3.5"]}, dtype=object)
    values = column_numbers(frame, "floor_area_sqft")
    assert values.dtype == np.float64
    assert values[[0, 3]].tolist() == [1_200.0, 3.5]
    assert np.isnan(values[[1, 2]]).all()
    missing = column_numbers(frame, "surplus_sqft")
    assert len(missing) == 4 and np.isnan(missing).all()
