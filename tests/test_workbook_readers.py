"""Two readers for Excel rosters (certcli.roster.workbook): calamine reads a sheet whole, fast;
openpyxl streams one that would not fit in memory, or that calamine cannot be trusted with.
Whichever reads it, a workbook gives the same rows, rejects, line numbers and stored values.
And a file that would make calamine reserve or lay out more memory than a sheet needs (a
stated shared-strings count, a far-away cell: an allocation that fails there aborts the whole
process) never reaches it: ``calamine_fits`` is asserted before any import, so a regression
fails the test instead of killing the test run."""
import re
import zipfile
from datetime import date, datetime, time

import pytest

from certcli.errors import BadRoster
from certcli.roster import workbook_fit
from certcli.roster.parse import Roster
from conftest import HOLDER_ID, cert_row
from test_roster_files import EN_HEADER, Raw, _workbook, import_into, outcome, roster_workbook, snapshot

TODAY = date(2026, 3, 1)


def fits(path) -> bool:
    with zipfile.ZipFile(path) as archive:
        return workbook_fit.calamine_fits(archive)


def engine_of(path, sheet=None) -> str:
    with Roster(path, today=TODAY, sheet=sheet) as roster:
        assert list(roster.rows())
        if roster._sheet.engine == "calamine":
            assert roster.bytes_read == roster.size  # progress: the share of the sheet's rows read
        return roster._sheet.engine


def read_by_both(tmp_path, monkeypatch, path, sheet=None):
    """(outcome, stored rows) of importing ``path`` with calamine, then with openpyxl."""
    results = []
    for engine in ("calamine", "openpyxl"):
        if engine == "openpyxl":
            monkeypatch.setattr(workbook_fit, "MEMORY_BUDGET", 0)  # nothing fits: stream it
        assert engine_of(path, sheet) == engine
        home = tmp_path / f"home-{engine}"
        results.append((outcome(import_into(home, path, False, sheet=sheet)), snapshot(home)))
    return results


def test_both_readers_give_the_same_roster(tmp_path, monkeypatch):
    path, expected_bad = roster_workbook(tmp_path / "roster.xlsx", rows=600)  # notes sheet, title row, empty row
    by_calamine, by_openpyxl = read_by_both(tmp_path, monkeypatch, path, sheet="名单")
    assert by_calamine == by_openpyxl
    assert {(line, reason) for line, reason, _, _ in by_calamine[0][4]} == set(expected_bad.items())


def test_both_readers_read_odd_cells_alike(tmp_path, monkeypatch):
    def row(no, **cells):
        values = dict(zip(EN_HEADER, cert_row(no=no).values()), **cells)
        return [values[column] for column in EN_HEADER]

    path = _workbook(tmp_path / "odd.xlsx", [
        row("D1", issued_on=date(2022, 1, 14)), row("D2", issued_on=datetime(2022, 1, 14, 9, 30)),
        row("D3", issued_on=44575), row("D4", issued_on=44575.0), row("D5", issued_on=20220114),
        row("D6", issued_on=time(9, 30)), row("N1", id_number=12345678, id_type="other"),
        row("N2", id_number=Raw("1.10101199003074E+17")), row("N3", id_number=Raw("110101199003074000")),
        row("N4", id_number=12345678.5, id_type="other"), row("N5", id_number=-0.5, id_type="other"),
        row(2022110100001), row(2.0221101000012345e+19), row(-7), row("B1", level=True), row("B2", name=None),
        row("F1", level=1.25), row("F2", level=3.0), row(date(2022, 1, 14)),
        row("S1") + [None, None, "stray"],
    ])
    by_calamine, by_openpyxl = read_by_both(tmp_path, monkeypatch, path)
    assert by_calamine == by_openpyxl
    rejects = {no: reason for _, reason, _, no in by_calamine[0][4]}
    assert rejects["N2"] == rejects["N3"] == rejects["N5"] == "id_number_stored_as_number"
    assert [reason for no, reason in rejects.items() if no.startswith("2.02211")] == ["stored_as_number"]
    assert rejects["D6"] == "invalid_date"
    stored = {row[0]: row for row in by_calamine[1]}
    assert stored["2022110100001"][0] == "2022110100001" and stored["N1"][3] == "12345678"
    assert {stored[no][6] for no in ("D1", "D2", "D3", "D4", "D5")} == {"2022-01-14"}


def test_a_sheet_that_starts_further_down_and_right(tmp_path, monkeypatch):
    """Line numbers are the sheet's rows, and columns keep their places, when the first used
    cell is not A1 (calamine's grid starts at the first used column)."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.cell(row=2, column=3, value="2022 年度名单")
    for r, values in enumerate([EN_HEADER, list(cert_row(no="C1").values()), [],
                                list(cert_row(no="C2", id_number=HOLDER_ID[:-1] + "0").values()),
                                list(cert_row(no="C3").values()) + [None, "stray"]], start=4):
        for c, value in enumerate(values, start=2):
            sheet.cell(row=r, column=c, value=value)
    path = tmp_path / "offset.xlsx"
    book.save(path)
    by_calamine, by_openpyxl = read_by_both(tmp_path, monkeypatch, path)
    assert by_calamine == by_openpyxl
    assert [(line, reason) for line, reason, _, _ in by_calamine[0][4]] == [(7, "invalid_id_number"),
                                                                          (8, "too_many_columns")]
    assert [row[0] for row in by_calamine[1]] == ["C1"]


def _edit_sheet(path, edit):
    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    before = dict(parts)
    edit(parts)
    assert parts != before, "the edit changed nothing"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in parts.items():
            target.writestr(name, data)
    return path


def _sheet_xml(edit):
    def apply(parts):
        parts["xl/worksheets/sheet1.xml"] = edit(parts["xl/worksheets/sheet1.xml"].decode()).encode()
    return apply


def _stated_strings(count):
    """One cell read from shared strings, whose part states ``count`` of them."""
    def apply(parts):
        sheet = parts["xl/worksheets/sheet1.xml"].decode()
        sheet = re.sub(r'<c r="A1" t="inlineStr"><is><t>[^<]*</t></is></c>', '<c r="A1" t="s"><v>0</v></c>', sheet)
        parts["xl/worksheets/sheet1.xml"] = sheet.encode()
        parts["xl/sharedStrings.xml"] = (
            '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" '
            f'uniqueCount="{count}"><si><t>certificate_no</t></si></sst>').encode()
        parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(b"</Types>", (
            b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
            b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'))
        parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(b"</Relationships>", (
            b'<Relationship Id="rId99" Target="sharedStrings.xml" Type="http://schemas.openxmlformats.org/'
            b'officeDocument/2006/relationships/sharedStrings"/></Relationships>'))
    return apply


FAR_CELL = '<c r="XFD60" t="inlineStr"><is><t>x</t></is></c>'


@pytest.mark.parametrize("name, edit", [
    # calamine would reserve room for 10^12 strings: an allocation failure aborts the process
    ("stated_strings", _stated_strings(10**12)),
    # a cell far from the others widens calamine's grid (XFD1048576: 550 GB)
    ("far_column", _sheet_xml(lambda xml: xml.replace("</row></sheetData>", FAR_CELL + "</row></sheetData>"))),
    ("far_row_in_an_early_row", _sheet_xml(lambda xml: xml.replace('<c r="B2"', '<c r="Z900000" t="inlineStr">'
                                                                   '<is><t>x</t></is></c><c r="B2"', 1))),
    # positions calamine would count itself: not bounded by this scan
    ("cells_without_positions", _sheet_xml(lambda xml: re.sub(r'<c r="[A-Z]+2"', "<c", xml))),
    ("rows_without_positions", _sheet_xml(lambda xml: xml.replace('<row r="2">', "<row>"))),
    ("namespace_prefix", _sheet_xml(lambda xml: xml.replace("<worksheet ", '<worksheet xmlns:x="urn:x" ', 1)
                                    .replace('<c r="A2"', '<x:c r="A2"')
                                    .replace('</c><c r="B2"', '</x:c><c r="B2"', 1))),
    # digits a double cannot hold: openpyxl keeps them exact
    ("exact_long_number", _sheet_xml(lambda xml: xml.replace(
        f'<c r="D2" t="inlineStr"><is><t>{HOLDER_ID}</t></is></c>', f'<c r="D2" t="n"><v>{HOLDER_ID}</v></c>'))),
])
def test_what_calamine_cannot_be_trusted_with_is_streamed(tmp_path, name, edit):
    path = _workbook(tmp_path / "good.xlsx", [list(cert_row(no="G1").values()), list(cert_row(no="G2").values())])
    assert fits(path)
    _edit_sheet(path, edit)
    assert not fits(path), name  # before anything reads it whole
    try:
        report = import_into(tmp_path / "home", path, False, dry_run=True)
    except BadRoster as error:  # what openpyxl makes of it; never a crash
        assert error.data["reason"] in ("damaged_workbook", "missing_columns", "empty_sheet"), error.data
    else:
        assert report.format == "xlsx" and report.rows >= 1


def test_a_sheet_over_the_memory_budget_is_streamed(tmp_path, monkeypatch):
    path, _ = roster_workbook(tmp_path / "r.xlsx", rows=300, sheets=())
    assert engine_of(path) == "calamine"
    size = max(info.file_size for info in zipfile.ZipFile(path).infolist())
    monkeypatch.setattr(workbook_fit, "MEMORY_BUDGET", workbook_fit.PART_FACTOR * size)  # the grid no longer fits
    assert engine_of(path) == "openpyxl"


def test_a_damaged_sheet_read_by_calamine_is_a_bad_roster(tmp_path):
    path = _workbook(tmp_path / "cut.xlsx", [list(cert_row(no="G1").values())])
    _edit_sheet(path, _sheet_xml(lambda xml: xml[:xml.index("</sheetData>")]))  # the sheet's XML ends early
    assert fits(path)
    with pytest.raises(BadRoster) as caught:
        import_into(tmp_path / "home", path, False)
    assert caught.value.data["reason"] == "damaged_workbook"


def test_the_greater_than_patterns():
    beyond = workbook_fit._beyond(100001, 10)  # rows up to 100001, columns A..J
    inside = ['r="A1"', 'r="J100001"', 'r="100001"', 'r="J99999"', 'r="A010"']
    outside = ['r="K1"', 'r="AA5"', 'r="A100002"', 'r="A200000"', 'r="A1000000"', 'r="100002"', 'r="XFD1048576"']
    assert [bool(beyond.search(text.encode())) for text in inside] == [False] * len(inside)
    assert [bool(beyond.search(text.encode())) for text in outside] == [True] * len(outside)
    assert [workbook_fit._column_number(letters) for letters in (b"A", b"Z", b"AA", b"XFD")] == [1, 26, 27, 16384]
    assert [workbook_fit._column_letters(n) for n in (1, 26, 27, 16384)] == ["A", "Z", "AA", "XFD"]
