"""experiments/bench/reach_by_scale.py on the test town: one row per person-level allocation,
a cell per scale, and one-line refusals of bad settings."""

from __future__ import annotations

import pytest
from svsim.experiments.bench import reach_by_scale as rbs
from svsim.experiments.config import ConfigError


def test_the_table_has_a_row_per_person_level_allocation_and_a_cell_per_scale(tmp_path, capsys):
    path = tmp_path / "town.yaml"
    path.write_text(
        "name: town\nbudget_per_year: 60000\nallocations:\n"
        "  - {intervention: mentoring, amount_per_year: 30000}\n"
        "  - {intervention: hot_spots_policing, amount_per_year: 30000, places: [Old Town]}\n"
    )
    argv = ["area=test_town", f"scenario={path}", "scales=1,0.25", "replicates=2", "years=1"]
    assert rbs.main(argv) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| mentoring")]
    assert len(rows) == 1 and rows[0].count("|") == 5, out  # name, bought, two scales
    assert "hot_spots_policing" not in out  # places, not people


@pytest.mark.parametrize("arg", ["scales=2", "replicates=1", "scales=a", "oops"])
def test_bad_settings_are_refused(arg):
    with pytest.raises(ConfigError):
        rbs.parse([arg])
