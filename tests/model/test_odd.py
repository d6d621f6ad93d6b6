"""model/ODD.md documents every parameter: the table is generated from the typed parameters."""

from dataclasses import fields

from svsim.model.odd import END, ODD, START, parameter_rows, parameter_table
from svsim.model.params import Params


def test_every_parameter_has_unit_and_source():
    for name, _default, unit, _range, source in parameter_rows():
        assert unit.strip() and source.strip(), name


def test_odd_table_lists_every_parameter_and_is_current():
    text = ODD.read_text()
    table = text.split(START, 1)[1].split(END, 1)[0].strip()
    assert table == parameter_table(), "run: python -m svsim.model.odd --write"
    for group in fields(Params):
        for f in fields(group.default_factory):
            assert f"`params.{group.name}.{f.name}`" in table


def test_odd_names_every_process_of_the_step():
    text = ODD.read_text()
    for fn in (
        "_propensity",
        "_offending",
        "_choose_victims",
        "_severity",
        "_consequences",
        "_collect",
    ):
        assert fn in text
