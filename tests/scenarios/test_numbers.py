"""Numbers as spreadsheets write them, control characters and absurd values, named by file,
row, column and value -- through the library and ``motcua validate``/``place``/``staff``."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point

from geodata._errors import ScenarioError
from geodata._numbers import NumberFormat, NumberProblem, format_number, parse_number
from geodata.importer import BoundarySource, read_boundaries
from geodata.scenario import load_scenario, save_scenario
from motcua.cli import main
from motcua.staffing import read_forecast_csv
from tests.scenarios.conftest import DEMAND, SITES, TOML, WORKLOAD, MakeScenario


def problems(folder: Path) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(folder)
    return str(info.value)


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def declare(toml: str, **keys: str) -> str:
    """``TOML`` with ``keys`` added to its [files] table."""
    lines = "".join(f'{k} = "{v}"\n' for k, v in keys.items())
    return toml.replace('workload = "workload.csv"\n', 'workload = "workload.csv"\n' + lines)


# --------------------------------------------------------------------------- the parser


@pytest.mark.parametrize(("text", "quantity", "value"), [
    ("2000", True, 2000.0), ("2.5", True, 2.5), ("2,5", True, 2.5), ("0,125", True, 0.125),
    ("12.50", True, 12.5), ("106.978", False, 106.978), ("106,978", False, 106.978),
    ("-3", True, -3.0), ("1e3", True, 1000.0), ("2.0", True, 2.0), ("0.000", True, 0.0),
])
def test_one_meaning_is_read(text: str, quantity: bool, value: float) -> None:
    assert parse_number(text, quantity=quantity) == value


def test_ambiguous_quantity_names_both_readings_and_the_fix() -> None:
    with pytest.raises(NumberProblem) as info:
        parse_number("2.000", quantity=True)
    assert info.value.message == ("ambiguous number: 2 or 2000? '.' may be a decimal point or a "
                                  "thousands separator")
    assert info.value.expected == (
        '2000 written without separators; or, if every number is written this way, declare in '
        'scenario.toml [files]: thousands = "." (2.000 means 2000) or decimal = "." '
        '(2.000 means 2)')


@pytest.mark.parametrize(("text", "fmt", "value"), [
    ("2.000", NumberFormat(thousands="."), 2000.0),
    ("2,000", NumberFormat(thousands=","), 2000.0),
    ("2.000", NumberFormat(decimal="."), 2.0),
    ("0,5", NumberFormat(decimal=","), 0.5),
    ("1.234,5", NumberFormat(decimal=",", thousands="."), 1234.5),
    ("1,234.5", NumberFormat(thousands=","), 1234.5),
    ("2\u00a0000", NumberFormat(thousands=" "), 2000.0),
    ("1\u202f234\u2009567", NumberFormat(thousands=" ", decimal=","), 1234567.0),
    ("1234,5", NumberFormat(decimal=",", thousands="."), 1234.5),  # grouping is optional
])
def test_declared_separators_are_read(text: str, fmt: NumberFormat, value: float) -> None:
    assert parse_number(text, fmt, quantity=True) == value


@pytest.mark.parametrize(("text", "fmt"), [
    ("2,000.5", NumberFormat(decimal=",", thousands=".")),
    ("1.23", NumberFormat(thousands=".")),          # '.' groups thousands: 3 digits needed
    ("2.000", NumberFormat(decimal=",")),           # '.' is not declared at all
])
def test_cells_not_in_the_declared_format_are_refused(text: str, fmt: NumberFormat) -> None:
    with pytest.raises(NumberProblem, match="not a number in the declared format"):
        parse_number(text, fmt, quantity=True)


def test_format_number_is_read_back_exactly() -> None:
    for fmt in (NumberFormat(), NumberFormat(decimal=",", thousands=".")):
        for x in (12.125, 106.978252, 0.1, 640.0, 1e-05, 999.999, 20_000_000.0):
            assert parse_number(format_number(x, fmt), fmt, quantity=True) == x
    assert format_number(12.125) == "12.1250"
    assert format_number(math.nan) == ""


# --------------------------------------------------------------------------- scenario files


def test_validate_refuses_thousands_separators_naming_both_readings(
        make_scenario: MakeScenario, capsys: pytest.CaptureFixture[str]) -> None:
    demand = (DEMAND.replace(",1200,", ',"2,000",').replace(",800,", ",2.000,")
              .replace(",5000,", ",2\u00a0000,"))
    sites = SITES.replace(",4,10,,", ',4,"1.234,5",,').replace(",2,,60,", ',2,,"1,234.5",')
    code, _, err = cli(capsys, "validate", str(make_scenario(**{"demand.csv": demand,
                                                                 "sites.csv": sites})))
    assert code == 1
    assert (
        "demand.csv, column 'population', row 2: ambiguous number: 2 or 2000? ',' may be a decimal "
        "point or a thousands separator (value '2,000'); expected 2000 written without separators;"
        " or, if every number is written this way, declare in scenario.toml [files]: "
        'thousands = "," (2,000 means 2000) or decimal = "," (2,000 means 2)') in err
    assert (
        "demand.csv, column 'population', row 3: ambiguous number: 2 or 2000? '.' may be a decimal "
        "point or a thousands separator (value '2.000'); expected 2000 written without separators;"
        " or, if every number is written this way, declare in scenario.toml [files]: "
        'thousands = "." (2.000 means 2000) or decimal = "." (2.000 means 2)') in err
    assert (
        "demand.csv, column 'population', row 4: number with thousands separators: 2000 if a space "
        "groups thousands (not declared) (value '2\\xa0000'); expected 2000 written without "
        "thousands separators; or, if every number is written this way, declare in scenario.toml "
        '[files]: thousands = " "') in err
    assert (
        "sites.csv, column 'opening_cost', row 2: number with thousands separators: 1234.5 if '.' "
        "groups thousands and ',' is the decimal point (not declared) (value '1.234,5'); expected "
        "1234.5 written without thousands separators; or, if every number is written this way, "
        'declare in scenario.toml [files]: thousands = ".", decimal = ","') in err
    assert (
        "sites.csv, column 'capacity_per_day', row 3: number with thousands separators: 1234.5 if "
        "',' groups thousands and '.' is the decimal point (not declared) (value '1,234.5')") in err


def test_whole_number_columns_refuse_ambiguous_cells(make_scenario: MakeScenario) -> None:
    workload = WORKLOAD.replace("in_person,12", "in_person,1.200")
    text = problems(make_scenario(**{"workload.csv": workload}))
    assert ("workload.csv, column 'dossiers', row 2: ambiguous number: 1.2 or 1200? '.' may be a "
            "decimal point or a thousands separator (value '1.200')") in text


def test_declared_separators_read_vietnamese_excel(make_scenario: MakeScenario) -> None:
    toml = declare(TOML, decimal=",", thousands=".")
    demand = ("id,name,lon,lat,population,commune_code,commune_name\n"
              'd1,Thôn Nà Pàn,"107,10","21,30",2.000,06895,Xã Đầm Hà\n'
              'd2,Thôn Bắc Cương,"107,12","21,31","1.234,5",06895,Xã Đầm Hà\n'
              'd3,Phường Ánh Sáng,"107,20","21,35",5000,06901,Xã Quảng Tân\n')
    sites = SITES.replace("107.11,21.30", '"107,11","21,30"').replace(
        "107.19,21.35", '"107,19","21,35"').replace("107.15,21.32", '"107,15","21,32"').replace(
        ",3,,\n", ',"0,5",,\n')
    workload = WORKLOAD.replace("in_person,12", "in_person,1.200")
    folder = make_scenario(**{"scenario.toml": toml, "demand.csv": demand, "sites.csv": sites,
                              "workload.csv": workload})
    s = load_scenario(folder)
    assert s.demand["population"].tolist() == [2000.0, 1234.5, 5000.0]
    assert s.demand.geometry.x.round(2).tolist() == [107.10, 107.12, 107.20]
    assert s.sites.set_index("id").loc["s3", "opening_cost"] == 0.5
    assert s.workload["dossiers"].tolist()[0] == 1200
    assert (s.settings.files.decimal, s.settings.files.thousands) == (",", ".")
    # saved in the declared format, loaded back equal
    again = load_scenario(save_scenario(s, folder.parent / "saved"))
    assert again.equals(s)
    assert '"107,1"' in (folder.parent / "saved" / "demand.csv").read_text(encoding="utf-8")


def test_undeclared_decimal_comma_still_reads_unambiguous_cells(make_scenario: MakeScenario) -> None:
    s = load_scenario(make_scenario(**{"sites.csv": SITES.replace(",3,,\n", ',"0,5",,\n')}))
    assert s.sites.set_index("id").loc["s3", "opening_cost"] == 0.5


def test_bad_separator_declarations_are_named(make_scenario: MakeScenario) -> None:
    text = problems(make_scenario(**{"scenario.toml": declare(TOML, decimal=";")}))
    assert "scenario.toml: [files] decimal: not an allowed value (value ';'); expected one of ., ," \
        in text
    text = problems(make_scenario(**{"scenario.toml": declare(TOML, decimal=",", thousands=",")}))
    assert ("scenario.toml: [files] decimal and thousands: the same separator (value ','); "
            'expected different separators, e.g. decimal = "," with thousands = "."') in text


def test_fractional_quantities_round_trip_without_ambiguity(make_scenario: MakeScenario,
                                                             tmp_path: Path) -> None:
    s = load_scenario(make_scenario(**{"demand.csv": DEMAND.replace(",1200,", ",12.1250,")}))
    assert s.demand["population"].tolist()[0] == 12.125
    saved = save_scenario(s, tmp_path / "saved")
    assert "12.1250" in (saved / "demand.csv").read_text(encoding="utf-8")
    assert load_scenario(saved).equals(s)


def test_numbers_stored_as_numbers_in_geojson_are_not_misread(make_scenario: MakeScenario) -> None:
    folder = make_scenario()
    gpd.GeoDataFrame({"id": ["d1", "d2"], "name": ["A", "B"], "population": [12.125, 2.0]},
                     geometry=[Point(107.10, 21.30), Point(107.12, 21.31)], crs="EPSG:4326"
                     ).to_file(folder / "demand.geojson")
    toml = TOML.replace('demand = "demand.csv"', 'demand = "demand.geojson"')
    (folder / "scenario.toml").write_text(toml, encoding="utf-8")
    assert load_scenario(folder).demand["population"].tolist() == [12.125, 2.0]


# --------------------------------------------------------------------------- absurd magnitudes


def test_absurd_magnitudes_are_refused_by_name(make_scenario: MakeScenario) -> None:
    demand = DEMAND.replace(",1200,", ",20000001,")
    sites = SITES.replace(",4,10,", ",10000,10,").replace(",2,,60,", ",2,,100001,")
    workload = WORKLOAD.replace("in_person,12", "in_person,99999999999999999999")
    text = problems(make_scenario(**{"demand.csv": demand, "sites.csv": sites,
                                     "workload.csv": workload}))
    assert ("demand.csv, column 'population', row 2: out of range (value '20000001'); expected "
            "number between 0 and 20000000 (residents of one row)") in text
    assert ("sites.csv, column 'counters', row 2: out of range (value '10000'); expected whole "
            "number between 0 and 1000 (reception counters at one site)") in text
    assert ("sites.csv, column 'capacity_per_day', row 3: out of range (value '100001'); expected "
            "number between 0 and 100000 (dossiers a day at one site)") in text
    assert ("workload.csv, column 'dossiers', row 2: out of range (value '99999999999999999999'); "
            "expected whole number between 0 and 100000 (dossiers of one site, day, field and "
            "channel)") in text


def test_huge_scenario_toml_numbers_are_named(make_scenario: MakeScenario) -> None:
    toml = TOML + "\n[work]\ndossiers_per_counter_per_day = 99999999999999999999\n" \
        f"[demand]\ndossiers_per_1000_per_year = {10**400}\n[service_minutes]\nland = 1e9\n"
    text = problems(make_scenario(**{"scenario.toml": toml}))
    assert ("scenario.toml: [work] dossiers_per_counter_per_day: too large (value "
            "99999999999999999999); expected a number from 0 to 10000") in text
    assert "scenario.toml: [demand] dossiers_per_1000_per_year: wrong type" in text
    assert ("scenario.toml: [service_minutes].land: too large (value 1000000000.0); expected a "
            "number from 0 to 1440") in text


@pytest.mark.parametrize("command", [["validate"], ["place", "--model", "lscp"],
                                     ["staff"]])
def test_huge_numbers_stop_every_command_with_a_named_error(
        make_scenario: MakeScenario, capsys: pytest.CaptureFixture[str], command: list[str],
        tmp_path: Path) -> None:
    toml = TOML + "\n[work]\ndossiers_per_counter_per_day = 99999999999999999999\n"
    workload = WORKLOAD.replace("in_person,12", "in_person,99999999999999999999")
    folder = make_scenario(**{"scenario.toml": toml, "workload.csv": workload})
    code, _, err = cli(capsys, command[0], str(folder), *command[1:], "--out", str(tmp_path / "o")
                       ) if command[0] != "validate" else cli(capsys, "validate", str(folder))
    assert code == 1
    assert "Traceback" not in err and "unexpected error" not in err
    assert "dossiers_per_counter_per_day: too large" in err
    assert "workload.csv, column 'dossiers', row 2: out of range" in err
    assert not (tmp_path / "o").exists()


# --------------------------------------------------------------------------- control characters


def test_control_characters_in_text_cells_are_refused(
        make_scenario: MakeScenario, capsys: pytest.CaptureFixture[str]) -> None:
    demand = DEMAND.replace("Thôn Nà Pàn", "Thôn\x00Nà Pàn").replace("d2,", "d\x1b2,")
    sites = SITES.replace("Bưu điện Tân Bình", '"Bưu điện\nTân Bình"')
    code, _, err = cli(capsys, "validate", str(make_scenario(**{"demand.csv": demand,
                                                                 "sites.csv": sites})))
    assert code == 1
    assert ("demand.csv, column 'name', row 2: contains a control character (U+0000) (value "
            "'Thôn\\x00Nà Pàn'); expected text without control characters (retype the cell; a "
            "line break or tab inside a cell counts too)") in err
    assert "demand.csv, column 'id', row 3: contains a control character (U+001B) (value 'd\\x1b2')" \
        in err
    assert ("sites.csv, column 'name', row 4: contains a control character (U+000A) "
            "(value 'Bưu điện\\nTân Bình')") in err


@pytest.mark.parametrize("command", [["place", "--model", "lscp"], ["staff"]])
def test_nul_in_a_name_stops_place_and_staff_before_solving(
        make_scenario: MakeScenario, capsys: pytest.CaptureFixture[str], command: list[str],
        tmp_path: Path) -> None:
    folder = make_scenario(**{"demand.csv": DEMAND.replace("Thôn Nà Pàn", "Thôn\x00Nà")})
    code, _, err = cli(capsys, command[0], str(folder), *command[1:], "--out", str(tmp_path / "o"))
    assert code == 1
    assert "demand.csv, column 'name', row 2: contains a control character (U+0000)" in err
    assert "unexpected error" not in err
    assert not (tmp_path / "o").exists()


def test_control_characters_in_scenario_toml_text(make_scenario: MakeScenario) -> None:
    toml = TOML.replace('name = "Xã Thử nghiệm"', 'name = "Xã\\u0000Thử"').replace(
        'description = "Kịch bản nhỏ', 'description = "Dòng 1\\nDòng 2 \\u0007')
    text = problems(make_scenario(**{"scenario.toml": toml}))
    assert "scenario.toml: name: contains a control character (value 'Xã\\x00Thử')" in text
    assert "scenario.toml: description: contains a control character" in text
    ok = TOML.replace('description = "Kịch bản nhỏ', 'description = "Dòng 1\\nDòng 2')
    assert load_scenario(make_scenario(**{"scenario.toml": ok})).settings.description.startswith(
        "Dòng 1\nDòng 2")


# --------------------------------------------------------------------------- other readers


def test_forecast_override_uses_the_shared_parser(make_scenario: MakeScenario,
                                                  tmp_path: Path) -> None:
    day = date(2026, 11, 23)
    path = tmp_path / "fc.csv"
    path.write_text("site_id,date,field,channel,dossiers\n"
                    "s1,2026-11-23,land,in_person,1.500\n", encoding="utf-8")
    scenario = load_scenario(make_scenario())
    with pytest.raises(ScenarioError) as info:
        read_forecast_csv(path, scenario, (day,))
    assert ("fc.csv, column 'dossiers', row 2: ambiguous number: 1.5 or 1500? '.' may be a "
            "decimal point or a thousands separator (value '1.500')") in str(info.value)
    declared = load_scenario(make_scenario(**{"scenario.toml": declare(TOML, thousands="."),
                                              "demand.csv": _comma_coords(DEMAND),
                                              "sites.csv": _comma_coords(SITES)}))
    assert read_forecast_csv(path, declared, (day,))["dossiers"].tolist() == [1500.0]


def _comma_coords(sites: str) -> str:
    lines = sites.splitlines()
    out = [lines[0]]
    for line in lines[1:]:
        cells = line.split(",")
        cells[2], cells[3] = f'"{cells[2].replace(".", ",")}"', f'"{cells[3].replace(".", ",")}"'
        out.append(",".join(cells))
    return "\n".join(out) + "\n"


def test_importer_population_table_names_the_options(tmp_path: Path) -> None:
    from tests.geodata.test_importer import _communes

    path = _communes(tmp_path)
    table = tmp_path / "pop.csv"
    table.write_text("ward_code,dan_so\n06895,1.250\n06901,750\n", encoding="utf-8")
    source = BoundarySource(str(path), population_column="dan_so", population_table=table,
                            join_column="ma_xa", table_join_column="ward_code")
    with pytest.raises(ScenarioError) as info:
        read_boundaries(source)
    assert ("pop.csv, column 'dan_so', row 2: ambiguous number: 1.25 or 1250? '.' may be a decimal "
            "point or a thousands separator (value '1.250'); expected 1250 written without "
            "separators; or, if every number is written this way, declare with the options: "
            "--thousands '.' (1.250 means 1250) or --decimal '.' (1.250 means 1.25)") in str(info.value)
    fmt = NumberFormat(thousands=".", declared_by="options")
    from dataclasses import replace
    got = read_boundaries(replace(source, number_format=fmt))
    assert got["population"].tolist() == [1250.0, 750.0]


def test_importer_sites_vector_numbers_stay_numbers(tmp_path: Path) -> None:
    from geodata.importer import SiteSource, read_sites

    path = tmp_path / "offices.geojson"
    gpd.GeoDataFrame({"id": ["a", "b"], "kind": ["branch", "reception"],
                      "capacity_per_day": [12.125, 2.0], "counters": [3, 1]},
                     geometry=[Point(107.10, 21.30), Point(107.12, 21.31)], crs="EPSG:4326"
                     ).to_file(path)
    sites = read_sites(SiteSource(path))
    assert sites["capacity_per_day"].tolist() == [12.125, 2.0]
    assert sites["counters"].tolist() == [3, 1]
