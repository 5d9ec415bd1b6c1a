import threading
import zipfile
from pathlib import Path

import pytest

from geoloc.errors import GeolocError
from geoloc.gbif import dwca
from geoloc.gbif.dwca import Archive, ReadStats, require_terms
from geoloc.gbif.terms import DWC, GBIF, MULTIMEDIA
from tests.gbif.dwca_builder import (
    OCCURRENCE_COLUMNS,
    meta_xml,
    occurrence,
    replace_member,
    write_archive,
)

TERMS = {"id": GBIF + "gbifID", "lat": DWC + "decimalLatitude", "country": DWC + "countryCode"}


def read_all(path: Path, terms=TERMS, block_size: int = 1 << 20):
    stats = ReadStats()
    with Archive(path) as archive:
        rows = [
            row
            for batch in archive.read_columns(
                archive.core, terms, stats=stats, block_size=block_size
            )
            for row in batch.to_pylist()
        ]
    return rows, stats


def test_reads_columns_by_term_whatever_their_position(tmp_path):
    reordered = list(reversed(OCCURRENCE_COLUMNS))
    path = write_archive(
        tmp_path / "a.zip", [occurrence(1), occurrence(2, countryCode="DE")], columns=reordered
    )
    rows, stats = read_all(path)
    assert rows == [
        {"id": "1", "lat": "45.0100", "country": "FR"},
        {"id": "2", "lat": "45.0200", "country": "DE"},
    ]
    assert (stats.rows, stats.malformed) == (2, 0)
    with Archive(path) as archive:
        assert archive.extension(MULTIMEDIA).location == "multimedia.txt"


def test_old_downloads_without_header_line(tmp_path):
    path = write_archive(tmp_path / "a.zip", [occurrence(7)], header=False)
    rows, _ = read_all(path)
    assert rows == [{"id": "7", "lat": "45.0700", "country": "FR"}]


def test_streams_many_blocks_and_quotes_are_plain_characters(tmp_path):
    rows = [occurrence(i, recordedBy='a "quoted" name') for i in range(3000)]
    path = write_archive(tmp_path / "a.zip", rows)
    got, stats = read_all(path, {"id": GBIF + "gbifID", "who": DWC + "recordedBy"}, 4096)
    assert len(got) == stats.rows == 3000
    assert got[-1] == {"id": "2999", "who": 'a "quoted" name'}


def test_rows_with_wrong_field_count_are_counted_not_fatal(tmp_path):
    good = occurrence(1)
    line = "\t".join(good.get(name, "") for name, _ in OCCURRENCE_COLUMNS)
    path = write_archive(tmp_path / "a.zip", [good, line + "\textra", "2\tshort", occurrence(3)])
    rows, stats = read_all(path)
    assert [row["id"] for row in rows] == ["1", "3"]
    assert stats.rows == 2 and stats.malformed == 2
    assert any("fields instead of" in example for example in stats.malformed_examples)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_text("gbifID\tspecies\n1\tx\n"), "not a zip archive"),
        (lambda p: p.write_bytes(b""), "not a zip archive"),
    ],
)
def test_not_a_zip(tmp_path, make, message):
    path = tmp_path / "download.zip"
    make(path)
    with pytest.raises(GeolocError, match=message):
        Archive(path)


def test_missing_file(tmp_path):
    with pytest.raises(GeolocError, match="archive not found"):
        Archive(tmp_path / "absent.zip")


def test_truncated_zip(tmp_path):
    path = write_archive(tmp_path / "a.zip", [occurrence(i) for i in range(50)])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(GeolocError, match="truncated"):
        Archive(path)


def test_damaged_member_data(tmp_path):
    rows = [occurrence(i, abstract=f"text {i * 7919}") for i in range(2000)]
    path = write_archive(tmp_path / "a.zip", rows)
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("occurrence.txt")
    data = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename)
    for offset in range(start + 200, start + info.compress_size - 200, 97):
        data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(GeolocError, match="damaged"):
        read_all(path)


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2])
def test_every_compression_method_reads_the_same(tmp_path, method):
    rows = [occurrence(i, abstract=f"text {i * 7919}") for i in range(2000)]
    got, stats = read_all(
        write_archive(tmp_path / "a.zip", rows, compression=method), block_size=4096
    )
    assert stats.rows == 2000 and [row["id"] for row in got] == [str(i) for i in range(2000)]
    assert got[-1] == {"id": "1999", "lat": "45.5900", "country": "FR"}


def _patch_directory(path: Path, field: int, value: int) -> None:
    """Set a 4-byte field of occurrence.txt's local and central headers (offsets of the local)."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("occurrence.txt")
    data = bytearray(path.read_bytes())
    central = data.index(b"PK\x01\x02", info.header_offset + 30)
    while data[central + 46 : central + 60] != b"occurrence.txt":
        central = data.index(b"PK\x01\x02", central + 4)
    for offset in (info.header_offset + field, central + field + 2):
        data[offset : offset + 4] = value.to_bytes(4, "little")
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("field", "change", "message"),
    [
        (14, lambda info: info.CRC ^ 1, "damaged inside the zip \\(Bad CRC-32 for file"),
        (
            18,
            lambda info: info.compress_size // 2,
            "damaged inside the zip \\(Compressed file ended",
        ),
        (22, lambda info: info.file_size + 1, "damaged inside the zip .*inflates to"),
    ],
)
def test_member_that_fails_its_directory_checks(tmp_path, field, change, message):
    rows = [occurrence(i, abstract=f"text {i * 7919}") for i in range(2000)]
    path = write_archive(tmp_path / "a.zip", rows)
    with zipfile.ZipFile(path) as archive:
        _patch_directory(path, field, change(archive.getinfo("occurrence.txt")))
    with pytest.raises(GeolocError, match=message):
        read_all(path)


def test_a_damaged_member_releases_the_stream_before_its_error_not_after_a_wait(
    tmp_path, monkeypatch
):
    """The error's traceback held pyarrow's reader, so every damaged archive waited the whole
    RELEASE_WAIT_S for a release that could not come before the error was raised."""
    rows = [occurrence(i, abstract=f"text {i * 7919}") for i in range(2000)]
    path = write_archive(tmp_path / "a.zip", rows)
    with zipfile.ZipFile(path) as archive:
        _patch_directory(path, 14, archive.getinfo("occurrence.txt").CRC ^ 1)
    held_at_return = []

    def await_release(lent, limit_s=dwca.RELEASE_WAIT_S):
        real_await_release(lent, limit_s=30)  # a bound for a busy machine
        held_at_return.extend(ref() is not None for ref in lent)

    real_await_release = dwca._await_release
    monkeypatch.setattr(dwca, "_await_release", await_release)
    with pytest.raises(GeolocError, match="Bad CRC-32"):
        read_all(path)
    assert held_at_return == [False]


def test_meta_without_occurrence_core(tmp_path):
    meta = meta_xml(core_row_type="http://rs.tdwg.org/dwc/terms/Taxon")
    path = write_archive(tmp_path / "a.zip", [occurrence(1)], meta=meta)
    with pytest.raises(GeolocError, match="no occurrence core"):
        Archive(path)


def test_no_descriptor(tmp_path):
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("occurrence.txt", "gbifID\n1\n")
    with pytest.raises(GeolocError, match="no meta.xml"):
        Archive(path)


def test_bad_descriptor_xml(tmp_path):
    path = write_archive(tmp_path / "a.zip", [occurrence(1)], meta="<archive><core")
    with pytest.raises(GeolocError, match="meta.xml is not valid XML"):
        Archive(path)


def test_core_file_named_in_meta_is_absent(tmp_path):
    meta = meta_xml(core_file="occurrences.tsv")
    path = write_archive(tmp_path / "a.zip", [occurrence(1)], meta=meta)
    with pytest.raises(GeolocError, match="no such file"):
        Archive(path)


@pytest.mark.parametrize("name", ["/etc/evil.txt", "../evil.txt", "dataset/../../evil.txt", "C:/x"])
def test_unsafe_member_paths_are_refused(tmp_path, name):
    path = write_archive(tmp_path / "a.zip", [occurrence(1)], extra={name: "x"})
    with pytest.raises(GeolocError, match="unsafe member paths"):
        Archive(path)


def test_meta_pointing_outside_the_archive(tmp_path):
    meta = meta_xml(core_file="../occurrence.txt")
    path = write_archive(tmp_path / "a.zip", [occurrence(1)], meta=meta)
    with pytest.raises(GeolocError, match="points outside"):
        Archive(path)


def test_missing_required_terms_are_all_named(tmp_path):
    columns = [c for c in OCCURRENCE_COLUMNS if c[0] not in ("decimalLatitude", "countryCode")]
    path = write_archive(tmp_path / "a.zip", [occurrence(1)], columns=columns)
    with Archive(path) as archive, pytest.raises(GeolocError) as err:
        require_terms(archive, archive.core, TERMS)
    assert "lat (http://rs.tdwg.org/dwc/terms/decimalLatitude)" in str(err.value)
    assert "country (" in str(err.value)


def test_header_shorter_than_descriptor(tmp_path):
    meta = meta_xml(OCCURRENCE_COLUMNS + [("extra", DWC + "extra")])
    path = write_archive(tmp_path / "a.zip", [occurrence(1)], meta=meta)
    with pytest.raises(GeolocError, match="header but meta.xml describes"):
        read_all(path)


def test_unknown_encoding(tmp_path):
    meta = meta_xml().replace('encoding="UTF-8"', 'encoding="klingon-8"', 1)
    path = write_archive(tmp_path / "a.zip", [occurrence(1)], meta=meta)
    with pytest.raises(GeolocError, match="unknown encoding 'klingon-8'"):
        Archive(path)


def test_stopping_early_releases_the_reader(tmp_path):
    path = write_archive(tmp_path / "a.zip", [occurrence(i) for i in range(3000)])

    def first_batch_then_stop():
        with Archive(path) as archive:
            batches = archive.read_columns(archive.core, TERMS, block_size=4096, min_rows=10)
            next(batches)
            batches.close()

    worker = threading.Thread(target=first_batch_then_stop, daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive()


def test_a_value_that_is_not_utf8_gets_a_replacement_character_and_is_counted(tmp_path):
    path = write_archive(tmp_path / "a.zip", [occurrence(1), occurrence(2, countryCode="Fx")])
    replace_member(path, "occurrence.txt", old=b"\tFx\t", new=b"\tF\xff\t")
    rows, stats = read_all(path)
    assert [row["country"] for row in rows] == ["FR", "F\ufffd"]
    assert stats.invalid_text == 1 and stats.rows == 2


def test_a_line_without_a_line_break_is_an_error_naming_where_not_a_hang(tmp_path):
    path = write_archive(tmp_path / "a.zip", [occurrence(1), "\0" * 20_000, occurrence(2)])
    with pytest.raises(GeolocError, match=r"a line of over 4096 bytes \(no line break\) at byte"):
        read_all(path, block_size=4096)
    replace_member(path, "occurrence.txt", data=b"\0" * (3 << 20))  # not even a header line
    with pytest.raises(GeolocError, match="header line of occurrence.txt is over 1048576 bytes"):
        read_all(path)
