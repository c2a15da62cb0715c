"""Read a shop's export file into a frame of text columns, or say in one sentence why not.

The one reader behind every import (orders, interactions, the catalog). It takes CSV and its
relatives (.csv.gz/.bz2/.zip, .tsv, .txt), Parquet, JSON Lines (.jsonl, .ndjson), a JSON array
(.json) and Excel workbooks (.xlsx, the first sheet). For text files the encoding (BOM, UTF-8,
UTF-16, else cp1252, else latin-1) and the delimiter (comma, semicolon, tab or pipe, from the
header line) are sniffed rather than assumed, so a European export ("a;b;"1,5"") reads as it
was written. Every column comes back as text (missing cells as NaN) so ids keep their exact
form ("00123"); cleaning parses numbers and dates. Anything unreadable raises ImportFileError
with a message fit to print: never a parser's traceback, never the file's raw control bytes.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import json
import re
import zipfile
from pathlib import Path

import pandas as pd

TEXT_SUFFIXES = (".csv", ".tsv", ".txt", ".tab")
COMPRESSED = (".gz", ".bz2", ".zip")
DELIMITERS = (",", ";", "\t", "|")
SNIFF_LINES = 50
# magic numbers of files people send by mistake, named so the message can say what it is
MAGIC = (
    (b"PAR1", "a Parquet file"),
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx workbook is one)"),
    (b"\xd0\xcf\x11\xe0", "an old Excel .xls workbook or another Office file"),
    (b"%PDF", "a PDF document"),
    (b"SQLite format 3", "an SQLite database"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x1f\x8b", "a gzip archive"),
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class ImportFileError(ValueError):
    """A file that cannot be imported; str() is one printable sentence naming it.

    ImportFileError(path, problem) gives "name.csv: problem"; ImportFileError(message), for
    callers with no path at hand, gives the message alone (control characters escaped).
    """

    def __init__(self, path: str | Path, problem: str | None = None):
        if problem is None:
            self.path, self.problem = "", printable(path)
            super().__init__(self.problem)
            return
        self.path = str(path)
        self.problem = printable(problem)
        super().__init__(f"{printable(Path(self.path).name)}: {self.problem}")


def printable(text: object) -> str:
    """text with control characters shown as \\xNN escapes, so a message about a binary file
    never sends raw bytes (terminal escapes, NULs) to the operator's terminal or log."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


def read_table(path: str | Path) -> pd.DataFrame:
    """Read an export file into a frame whose every column is text (missing cells: NaN).

    Raises ImportFileError for a missing, empty, binary, corrupt, header-only or otherwise
    unreadable file, and for a format it does not read (.xls, .numbers), naming the problem.
    """
    path = Path(path)
    name = path.name.lower()
    try:
        if not path.is_file():
            raise ImportFileError(path, "no such file")
        if path.stat().st_size == 0:
            raise ImportFileError(path, "the file is empty (0 bytes)")
        if name.endswith((".parquet", ".pq")):
            frame = _parquet(path)
        elif name.endswith(".xlsx"):
            frame = _xlsx(path)
        elif name.endswith((".xls", ".xlsm", ".xlsb", ".ods", ".numbers")):
            raise ImportFileError(
                path,
                f"{Path(name).suffix} spreadsheets are not read; save the sheet as CSV "
                "(UTF-8) or .xlsx and import that",
            )
        elif name.endswith((".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz", ".json")):
            frame = _json(path, _decode(path, _raw_bytes(path)))
        elif _stem(name).endswith(TEXT_SUFFIXES):
            frame = _delimited(path, _decode(path, _raw_bytes(path)), tab=".tsv" in name)
        else:
            raise ImportFileError(
                path,
                "unknown file type; expected .csv, .tsv, .txt (optionally .gz/.bz2/.zip), "
                ".parquet, .jsonl, .ndjson, .json or .xlsx",
            )
    except ImportFileError:
        raise
    except OSError as exc:
        raise ImportFileError(path, f"cannot read the file ({exc.strerror or exc})") from None
    if frame.shape[1] == 0:
        raise ImportFileError(path, "no columns found")
    if len(frame) == 0:
        columns = ", ".join(str(c) for c in frame.columns)
        raise ImportFileError(path, f"the file has column names ({columns}) but no rows")
    return frame


def _stem(name: str) -> str:
    for suffix in COMPRESSED:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _raw_bytes(path: Path) -> bytes:
    """The file's bytes, decompressed by its suffix (a .zip holds exactly one file)."""
    name = path.name.lower()
    data = path.read_bytes()
    try:
        if name.endswith(".gz"):
            data = gzip.decompress(data)
        elif name.endswith(".bz2"):
            data = bz2.decompress(data)
        elif name.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                members = [m for m in archive.namelist() if not m.endswith("/")]
                if len(members) != 1:
                    raise ImportFileError(
                        path, f"a .zip must hold exactly one file; this one holds {len(members)}"
                    )
                data = archive.read(members[0])
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as exc:
        if isinstance(exc, ImportFileError):
            raise
        raise ImportFileError(path, f"not a valid {Path(name).suffix} archive ({exc})") from None
    if not data.strip():
        raise ImportFileError(path, "the file is empty (no text in it)")
    return data


def _decode(path: Path, data: bytes) -> str:
    """Text from bytes: a BOM decides; else strict UTF-8, else cp1252, else latin-1.

    A NUL byte (outside UTF-16, which a BOM announces) or a known magic number means the file
    is not text at all, and the message says what it looks like.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise ImportFileError(path, "starts with a UTF-16 mark but is not UTF-16") from None
    for magic, what in MAGIC:
        if data.startswith(magic):
            raise ImportFileError(path, f"this is {what}, not a text (CSV) file")
    head = data[:65536]
    if b"\x00" in head or _binary_share(head) > 0.1:
        raise ImportFileError(path, "this looks like a binary file, not a text (CSV) file")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _binary_share(head: bytes) -> float:
    """Share of bytes that are control characters other than tab, CR and LF."""
    if not head:
        return 0.0
    bad = sum(1 for b in head if b < 32 and b not in (9, 10, 13))
    return bad / len(head)


def _sniff_delimiter(text: str, tab: bool) -> str:
    """The delimiter that splits the header into the most fields, consistently below it.

    From the header line (outside quotes) rather than csv.Sniffer's guess over the whole
    sample: a semicolon export whose descriptions hold commas ("bowl, large") still reads as
    semicolon-separated. A one-column file has no delimiter; comma is as good as any.
    """
    if tab:
        return "\t"
    head = text[:65536]
    lines = head.splitlines()[: SNIFF_LINES + 1]
    if len(head) < len(text) and len(lines) > 1 and len(lines) <= SNIFF_LINES:
        lines = lines[:-1]  # the sample may end mid-line
    best, best_key = ",", (0, 0)
    for delim in DELIMITERS:
        try:
            rows = list(csv.reader(lines, delimiter=delim))
        except csv.Error:  # e.g. a field over csv's size limit: not this delimiter's evidence
            continue
        if not rows:
            continue
        width = len(rows[0])
        consistent = sum(1 for r in rows[1:] if len(r) == width)
        key = (consistent if width > 1 else -1, width)
        if key > best_key:
            best, best_key = delim, key
    return best


def _delimited(path: Path, text: str, tab: bool) -> pd.DataFrame:
    sep = _sniff_delimiter(text, tab)
    try:
        return pd.read_csv(
            io.StringIO(text),
            dtype=str,
            sep=sep,
            keep_default_na=False,
            na_values=[""],
            skipinitialspace=False,
        )
    except pd.errors.EmptyDataError:
        raise ImportFileError(path, "the file is empty (no header line)") from None
    except (pd.errors.ParserError, ValueError) as exc:
        detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        shown = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}[sep]
        raise ImportFileError(
            path, f"cannot be read as {shown}-separated text ({detail})"
        ) from None


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Every column as text (NaN stays missing): floats that hold whole numbers lose ".0"."""
    out = {}
    for col in frame.columns:
        s = frame[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            text = s.astype(str)
        elif pd.api.types.is_float_dtype(s):
            whole = s.notna() & (s == s.round()) & (s.abs() < 2**53)
            text = s.astype(str).where(~whole, s.where(whole).astype("Int64").astype(str))
        else:
            text = s.astype(str)
        out[str(col)] = text.where(s.notna())
    return pd.DataFrame(out, index=frame.index)


def _cell(value: object) -> object:
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _parquet(path: Path) -> pd.DataFrame:
    with path.open("rb") as fh:
        magic = fh.read(4)
    if magic != b"PAR1":
        raise ImportFileError(path, "not a Parquet file (it lacks the PAR1 mark)")
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        detail = printable(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        raise ImportFileError(path, f"a damaged or unreadable Parquet file ({detail})") from None
    return _as_text(frame)


def _xlsx(path: Path) -> pd.DataFrame:
    with path.open("rb") as fh:
        if fh.read(4) != b"PK\x03\x04":
            raise ImportFileError(path, "not an Excel .xlsx workbook")
    try:
        frame = pd.read_excel(path, sheet_name=0, dtype=object, engine="openpyxl")
    except ImportError:
        raise ImportFileError(
            path, ".xlsx needs the openpyxl package; or save the sheet as CSV (UTF-8)"
        ) from None
    except Exception as exc:  # openpyxl raises many types for a damaged workbook
        detail = printable(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        raise ImportFileError(path, f"a damaged or unreadable .xlsx workbook ({detail})") from None
    frame = frame.dropna(how="all")
    return _as_text(frame)


def _json(path: Path, text: str) -> pd.DataFrame:
    """JSON Lines (one object per line), or a .json file holding one array of objects."""
    if path.name.lower().endswith(".json"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ImportFileError(path, f"not valid JSON (line {exc.lineno}: {exc.msg})") from None
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise ImportFileError(path, "a .json file must hold one array of objects")
        records = data
    else:
        records = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ImportFileError(path, f"line {number} is not JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise ImportFileError(path, f"line {number} is not a JSON object")
            records.append(record)
    records = [{key: _cell(value) for key, value in r.items()} for r in records]
    if not records:
        raise ImportFileError(path, "the file holds no records")
    return _as_text(pd.DataFrame.from_records(records))
