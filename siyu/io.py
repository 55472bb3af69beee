"""Reading order exports as shops write them: :func:`read_orders`.

Shop back-ends (有赞, 微盟, 抖店, mini-programs, ERPs) export CSV in GBK or UTF-8 with a
BOM, UTF-16 "Unicode text", Excel workbooks or Parquet, with Chinese headers, ``￥1,299.00``
amounts, zero-padded ids, ``2024/3/5 14:22:01`` or ``2024年3月5日`` times and a 合计 row at
the end.  :func:`read_orders` reads all of these into a :class:`siyu.Transactions`:

- the format comes from the file name (or, for file objects, the first bytes);
- the encoding is detected (``encoding="auto"``) from a sample: a byte-order mark,
  then strict UTF-8, then GB18030 (a superset of GBK and GB2312); when
  ``charset-normalizer`` is installed it settles files that are neither;
- the delimiter is sniffed (comma, tab, semicolon, ``|`` or runs of blanks);
- text is read by Arrow's multi-threaded CSV reader with every used column as text,
  so ids keep their zeros; amounts, times and flags are then parsed in C.

Errors name the column, show up to three offending raw values with their line numbers
and say what to pass to fix them.
"""
from __future__ import annotations

import codecs
import csv
import difflib
import io as _pyio
import os
import re
import sys
import time as _time
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

SAMPLE_BYTES = 1 << 20
PROGRESS_ROWS = 1_000_000

_TEXT_KW = {"skiprows", "header", "names", "quotechar", "true_values", "false_values"}
_EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")
_PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
_COMPRESSED = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd", ".lz4": "lz4"}
_ROLES = ("customer", "time", "amount", "order", "status", "refund", "channel", "member",
          "product", "category", "quantity")
_ENCODING_NAMES = {"utf_8": "UTF-8", "utf_8_sig": "UTF-8 with BOM", "gb18030": "GB18030 (GBK)",
                   "gbk": "GBK", "utf_16": "UTF-16", "utf_16_le": "UTF-16LE",
                   "utf_16_be": "UTF-16BE", "big5": "Big5"}


def _pa():
    try:
        import pyarrow as pa
        import pyarrow.csv  # noqa: F401
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        raise ImportError("reading files needs pyarrow: pip install pyarrow") from None
    return pa


# ---- where the bytes come from ---------------------------------------------------------
class _Source:
    """A file path or an in-memory copy of a file object, with its kind and a label."""

    def __init__(self, obj: Any) -> None:
        self.path: str | None = None
        self.data: bytes | None = None
        self.text_given = False
        if isinstance(obj, (str, os.PathLike)):
            self.path = os.fspath(obj)
            if not os.path.exists(self.path):
                raise FileNotFoundError(f"no such file: {self.path!r}")
            if os.path.isdir(self.path):
                raise ValueError(f"{self.path!r} is a folder; pass the export file itself")
            self.label = self.path
            if self.path.lower().endswith(".zip"):
                self._unzip()
        elif isinstance(obj, (bytes, bytearray, memoryview)):
            self.data, self.label = bytes(obj), "<bytes>"
        elif hasattr(obj, "read"):
            raw = obj.read()
            if isinstance(raw, str):
                raw, self.text_given = raw.encode("utf-8"), True
            if not isinstance(raw, (bytes, bytearray)):
                raise TypeError("the file object's read() must return bytes or str")
            self.data = bytes(raw)
            self.label = str(getattr(obj, "name", None) or "<file object>")
        else:
            raise TypeError(f"path_or_buffer must be a file path or a file object, got "
                            f"{type(obj).__name__}")
        self.kind = self._kind()

    def _unzip(self) -> None:
        """A .zip holding one export: read that member (into memory)."""
        import zipfile

        try:
            with zipfile.ZipFile(self.path) as zf:
                members = [i for i in zf.infolist() if not i.is_dir()]
                if len(members) != 1:
                    names = ", ".join(repr(i.filename) for i in members[:5])
                    raise ValueError(f"{self.path} holds {len(members)} files ({names}); unzip "
                                     "it and pass the export file itself")
                self.data = zf.read(members[0])
                self.label = f"{self.path}:{members[0].filename}"
                self.member = members[0].filename
        except zipfile.BadZipFile:
            raise ValueError(f"{self.path} is not a readable .zip file") from None
        self.path = None

    def _kind(self) -> str:
        low = (self.path or getattr(self, "member", None) or self.label).lower()
        if self.path is not None or getattr(self, "member", None):
            if low.endswith(_EXCEL_SUFFIXES):
                return "excel"
            if low.endswith(_PARQUET_SUFFIXES):
                return "parquet"
        head = self.head(8)
        if head.startswith(b"PAR1"):
            return "parquet"
        if head.startswith(b"PK\x03\x04") and not low.endswith((".gz", ".zip", ".csv")):
            return "excel"
        if head.startswith(b"\xd0\xcf\x11\xe0"):
            return "excel"
        return "text"

    def compression(self) -> str | None:
        if self.path is not None:
            for suf, codec in _COMPRESSED.items():
                if self.path.lower().endswith(suf):
                    return codec
        head = self.head(4)
        if head.startswith(b"\x1f\x8b"):
            return "gzip"
        return None

    def head(self, n: int) -> bytes:
        if self.data is not None:
            return self.data[:n]
        with open(self.path, "rb") as f:  # type: ignore[arg-type]
            return f.read(n)

    def size(self) -> int:
        return len(self.data) if self.data is not None else os.path.getsize(self.path)

    def stream(self, counter: Callable[[int], None] | None = None) -> Any:
        """A pyarrow input stream over the (decompressed) bytes."""
        pa = _pa()
        comp = self.compression()
        if counter is not None and self.data is None:
            # a file: its position is polled from another thread, so the reader's threads
            # never wait for the GIL (a Python file object would make them)
            base = pa.OSFile(self.path, "r")
            fd = _file_descriptor(base)
            if fd is not None:
                return _Polled(pa.CompressedInputStream(base, comp) if comp else base, fd,
                               counter)
            base.close()
        if counter is not None:
            raw = open(self.path, "rb") if self.data is None else _pyio.BytesIO(self.data)
            base = pa.PythonFile(_Counting(raw, counter), mode="r")
        elif self.data is not None:
            base = pa.BufferReader(self.data)
        else:
            base = pa.OSFile(self.path, "r")   # not memory_map: mapped pages count as RSS
        return pa.CompressedInputStream(base, comp) if comp else base

    def sample(self) -> tuple[bytes, bool]:
        """The first SAMPLE_BYTES of the decompressed text, and whether that is all."""
        with self.stream() as f:
            data = f.read(SAMPLE_BYTES + 1)
        return data[:SAMPLE_BYTES], len(data) <= SAMPLE_BYTES

    def all_bytes(self) -> bytes:
        with self.stream() as f:
            return f.read()


def _file_descriptor(f: Any) -> int | None:
    """The OS file descriptor of a pyarrow OSFile, or None where pyarrow cannot give it
    (pyarrow 17's ``OSFile.fileno()`` raises AttributeError)."""
    try:
        return int(f.fileno())
    except (AttributeError, OSError, NotImplementedError, TypeError, ValueError):
        return None


class _Polled:
    """``with _Polled(stream, fd, counter) as stream``: while the block runs, a thread
    reports every 0.1 s how far the file descriptor has advanced (and once at the end)."""

    def __init__(self, stream: Any, fd: int, counter: Callable[[int], None]) -> None:
        import threading

        self.stream, self.fd, self.counter, self.seen = stream, fd, counter, 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="siyu-read-progress",
                                       daemon=True)

    def _report(self) -> None:
        try:
            pos = os.lseek(self.fd, 0, os.SEEK_CUR)
        except OSError:               # closed meanwhile: nothing more to report
            return
        if pos > self.seen:
            self.counter(pos - self.seen)
            self.seen = pos

    def _run(self) -> None:
        while not self.stop.wait(0.1):
            self._report()

    def __enter__(self) -> Any:
        self.thread.start()
        return self.stream

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        self.thread.join()
        self._report()
        self.stream.close()


class _Counting(_pyio.RawIOBase):
    """A binary reader that reports how many bytes were read (progress)."""

    def __init__(self, raw: Any, counter: Callable[[int], None]) -> None:
        self.raw, self.counter = raw, counter

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        n = self.raw.readinto(b)
        if n:
            self.counter(n)
        return n

    def close(self) -> None:
        self.raw.close()
        super().close()


class _GbToUtf8(_pyio.RawIOBase):
    """GB18030 / GBK bytes as a UTF-8 stream, transcoded in C on all cores, in blocks.

    pyarrow's own transcoding goes through Python's codec on one core; this keeps
    GBK exports about as fast to read as UTF-8 ones.
    """

    BLOCK = 1 << 24
    _tables: tuple[np.ndarray, np.ndarray] | None = None

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.pending = b""          # an incomplete sequence carried to the next block
        self.buf = memoryview(b"")
        self.eof = False
        self.consumed = 0           # input bytes transcoded so far
        self.lines = 0              # newlines in them

    @classmethod
    def tables(cls) -> tuple[np.ndarray, np.ndarray]:
        if cls._tables is None:
            two = np.zeros(126 * 191, dtype=np.uint32)
            for i in range(126):
                for j in range(191):
                    if j + 0x40 == 0x7F:
                        continue
                    try:
                        two[i * 191 + j] = ord(bytes((0x81 + i, 0x40 + j)).decode("gb18030"))
                    except UnicodeDecodeError:
                        pass
            four = np.zeros(39420, dtype=np.uint32)
            for lin in range(39420):
                b4, r = lin % 10, lin // 10
                b3, r = r % 126, r // 126
                b2, b1 = r % 10, r // 10
                try:
                    ch = bytes((0x81 + b1, 0x30 + b2, 0x81 + b3, 0x30 + b4)).decode("gb18030")
                    four[lin] = ord(ch) if len(ch) == 1 else 0
                except UnicodeDecodeError:
                    pass
            cls._tables = (two, four)
        return cls._tables

    def readable(self) -> bool:
        return True

    def _fill(self) -> None:
        from siyu import _core

        two, four = self.tables()
        while not self.buf and not self.eof:
            block = self.raw.read(self.BLOCK)
            final = not block
            data = self.pending + (block or b"")
            if not data:
                self.eof = True
                return
            arr = np.frombuffer(data, dtype=np.uint8)
            out = np.empty(2 * len(data), dtype=np.uint8)
            n, bad = _core.gb18030_to_utf8(arr, two, four, out)
            if bad >= 0 and (final or bad < len(data) - 3):
                line = self.lines + data.count(b"\n", 0, bad) + 1
                raise UnicodeDecodeError("gb18030", data, bad, bad + 1,
                                         f"byte 0x{data[bad]:02x} on line {line} does not decode")
            used = len(data) if bad < 0 else bad
            self.pending = data[used:]
            self.lines += data.count(b"\n", 0, used)
            self.consumed += used
            self.buf = memoryview(out[:n].tobytes())
            self.eof = final

    def readinto(self, b: Any) -> int:
        # fill b completely (short reads only at the end), as a regular file does
        got = 0
        while got < len(b):
            if not self.buf:
                self._fill()
                if not self.buf:
                    break
            k = min(len(b) - got, len(self.buf))
            b[got:got + k] = self.buf[:k]
            self.buf = self.buf[k:]
            got += k
        return got

    def close(self) -> None:
        try:
            self.raw.close()
        finally:
            super().close()


def _fast_transcode(enc: str) -> bool:
    return _norm_codec(enc) in ("gb18030", "gbk", "gb2312")


# ---- encodings -------------------------------------------------------------------------
def _norm_codec(name: str) -> str:
    return codecs.lookup(name).name.replace("-", "_")


def _pretty(enc: str) -> str:
    return _ENCODING_NAMES.get(_norm_codec(enc), enc)


def _decodes(sample: bytes, enc: str, complete: bool) -> tuple[bool, int]:
    """Does the sample decode strictly?  (ok, position of the first bad byte)."""
    dec = codecs.getincrementaldecoder(enc)(errors="strict")
    try:
        dec.decode(sample, final=complete)
        return True, -1
    except UnicodeDecodeError as exc:
        return False, int(exc.start)


def detect_encoding(sample: bytes, complete: bool = True) -> str:
    """The encoding of a sample of an export (a Python codec name).

    A byte-order mark decides (UTF-8 with BOM, UTF-16); else strict UTF-8, else
    GB18030 (which also reads GBK and GB2312).  When charset-normalizer is installed
    it decides between GB18030 and Big5 (Traditional Chinese) and names the encoding
    of samples GB18030 cannot decode; without it those are an error asking for
    ``encoding=``.

    Examples
    --------
    >>> from siyu.io import detect_encoding
    >>> detect_encoding("买家ID,金额\\n".encode("gbk"))
    'gb18030'
    >>> detect_encoding("买家ID,金额\\n".encode("utf-8-sig"))
    'utf-8-sig'
    """
    if not isinstance(sample, (bytes, bytearray, memoryview)):
        raise TypeError(f"sample must be bytes read from the file (open it with 'rb'), got "
                        f"{type(sample).__name__}")
    sample = bytes(sample)
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if len(sample) >= 4 and sample.count(b"\x00") > len(sample) // 4:
        odd = sample[1::2].count(b"\x00")
        even = sample[0::2].count(b"\x00")
        return "utf-16-le" if odd > even else "utf-16-be"
    if _decodes(sample, "utf-8", complete)[0]:
        return "utf-8"
    try:
        from charset_normalizer import from_bytes
    except ImportError:
        from_bytes = None
    if _decodes(sample, "gb18030", complete)[0]:
        # Chinese exports: GB18030 unless the text reads better as Big5 (Traditional);
        # other answers of a detector (e.g. cp949 for short GBK samples) are not trusted
        if from_bytes is not None:
            best = from_bytes(sample[:200_000], cp_isolation=["gb18030", "big5"]).best()
            if best is not None and _norm_codec(best.encoding) == "big5" and \
                    _decodes(sample, "big5", complete)[0]:
                return "big5"
        return "gb18030"
    if from_bytes is not None:
        best = from_bytes(sample[:200_000]).best()
        # single-byte code pages decode anything: as a guess for a damaged file they
        # would garble it silently, so only multi-byte answers are taken
        if best is not None and _norm_codec(best.encoding) in _MULTIBYTE and \
                _decodes(sample, best.encoding, complete)[0]:
            return _norm_codec(best.encoding)
    ok, pos = _decodes(sample, "gb18030", complete)
    raise ValueError(f"cannot tell the file's encoding: it is not UTF-8, UTF-16 or GB18030 "
                     f"(byte 0x{sample[pos]:02x} on line {_line_of_byte(sample, pos)} is "
                     "neither); fix that line if it is damaged, or pass the encoding, e.g. "
                     "encoding=\"big5\"")


_LIKELY = ("utf_8", "utf_8_sig", "utf_16", "utf_16_le", "utf_16_be", "gb18030", "big5")
_MULTIBYTE = _LIKELY + ("big5hkscs", "cp950", "shift_jis", "cp932", "euc_jp", "euc_kr", "cp949")


def _line_of_byte(sample: bytes, pos: int) -> int:
    return sample.count(b"\n", 0, max(pos, 0)) + 1


def _resolve_encoding(src: _Source, encoding: str | None, sample: bytes,
                      complete: bool) -> str:
    if src.text_given:
        return "utf-8"
    if encoding is None or str(encoding).lower() == "auto":
        return detect_encoding(sample, complete)
    if not isinstance(encoding, str):
        raise TypeError(f"encoding must be a codec name such as \"gb18030\" or \"auto\", "
                        f"got {encoding!r}")
    try:
        codec = _norm_codec(encoding)
    except LookupError:
        raise ValueError(f"encoding={encoding!r} is not an encoding Python knows; use e.g. "
                         "encoding=\"gb18030\", \"utf-8\" or \"auto\"") from None
    ok, pos = _decodes(sample, encoding, complete)
    if not ok:
        try:
            likely = detect_encoding(sample, complete)
            hint = (f"it looks like {_pretty(likely)}: pass encoding=\"{likely}\" "
                    "(or encoding=\"auto\")")
        except ValueError:
            hint = "the line may be damaged or in another encoding: fix it in the file"
        raise ValueError(f"{src.label} is not {_pretty(encoding)} text (byte 0x{sample[pos]:02x} "
                         f"on line {_line_of_byte(sample, pos)} does not decode); {hint}")
    if codec == "utf_8" and sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if not codec.startswith("utf") and max(sample, default=0) >= 0x80 and \
            _decodes(sample, "utf-8", complete)[0]:
        # non-ASCII text that is valid UTF-8 is UTF-8: read otherwise it would garble
        raise ValueError(f"{src.label} is UTF-8 text, not {_pretty(encoding)} (read as "
                         f"{_pretty(encoding)} its Chinese text would be garbled); pass "
                         "encoding=\"utf-8\" (or encoding=\"auto\")")
    return encoding


def _decode_sample(sample: bytes, enc: str, complete: bool) -> str:
    text = codecs.getincrementaldecoder(enc)(errors="replace").decode(sample, final=complete)
    return text.lstrip("\ufeff")


# ---- delimiters and headers -----------------------------------------------------------
_CANDIDATES = ("\t", ",", ";", "|")


def _count_outside_quotes(line: str, ch: str, quote: str = '"') -> int:
    n, inq = 0, False
    for c in line:
        if c == quote:
            inq = not inq
        elif c == ch and not inq:
            n += 1
    return n


def sniff_delimiter(lines: Sequence[str]) -> str | None:
    """The delimiter of some lines of text: tab, comma, semicolon, "|", or None for runs
    of blanks (whitespace-aligned text such as CDNOW's own files).

    Examples
    --------
    >>> from siyu.io import sniff_delimiter
    >>> sniff_delimiter(["id;t;amt", "1;2024-01-01;9,5"])
    ';'
    >>> sniff_delimiter(["00001 19970101 1  11.77", "00002 19970112 2  12.00"]) is None
    True
    """
    if isinstance(lines, (str, bytes)) or not all(isinstance(ln, str) for ln in lines[:50]
                                                   if hasattr(lines, "__getitem__")):
        raise TypeError("lines must be a list of text lines (str), e.g. "
                        "sniff_delimiter(['a,b', '1,2'])")
    lines = [ln for ln in lines if ln.strip()][:50]
    if not lines:
        return ","
    best, best_fields = None, 0
    for ch in _CANDIDATES:
        counts = [_count_outside_quotes(ln, ch) for ln in lines]
        if counts[0] == 0:
            continue
        same = sum(c == counts[0] for c in counts) / len(counts)
        if same >= 0.8 and counts[0] + 1 > best_fields:
            best, best_fields = ch, counts[0] + 1
    if best is not None:
        return best
    tokens = [len(ln.split()) for ln in lines]
    if tokens[0] > 1 and sum(t == tokens[0] for t in tokens) / len(tokens) >= 0.8:
        return None
    for ch in _CANDIDATES:            # inconsistent rows: the header's delimiter
        if _count_outside_quotes(lines[0], ch):
            return ch
    return ","


def _split_header(line: str, sep: str | None, quote: str) -> list[str]:
    if sep is None:
        return line.split()
    return next(csv.reader([line], delimiter=sep, quotechar=quote))


def _looks_like_data(fields: Sequence[str]) -> bool:
    pat = re.compile(r"^\s*[-+(]?[￥¥$]?[\d,.:/\-年月日 ]+[)元]?\s*$")
    return bool(fields) and all(pat.match(f) for f in fields if f.strip()) and \
        any(f.strip() for f in fields)


def header_hint(header: Sequence[str]) -> str:
    """A sentence for errors when the header line looks like data (no header line)."""
    if header is None or isinstance(header, (str, bytes)):
        raise TypeError("header must be the list of column names of the file's first line")
    header = ["" if h is None else str(h) for h in header]     # Excel headers: numbers, blanks
    if not _looks_like_data(header):
        return ""
    guess = ["customer", "date", "quantity", "amount"] if len(header) == 4 else \
        [f"col{i + 1}" for i in range(len(header))]
    return (f". The first line looks like data, not a header: name the columns with "
            f"header=None, names={guess!r}")


# ---- line numbers in messages -----------------------------------------------------------
class _Lines:
    """Maps row positions (after reading) to what errors show ("line 12")."""

    def __init__(self, kind: str, first: int, src: _Source | None = None, enc: str | None = None,
                 sep: str | None = None, quote: str = '"', n_rows: int = 0,
                 keep: np.ndarray | None = None, sheet: str | None = None) -> None:
        self.kind, self.first, self.src, self.enc = kind, first, src, enc
        self.sep, self.quote, self.n_rows, self.sheet = sep, quote, n_rows, sheet
        self.keep = keep            # positions of kept rows in the file's row order
        self._exact: np.ndarray | None = None

    def restrict(self, keep: np.ndarray) -> "_Lines":
        out = _Lines(self.kind, self.first, self.src, self.enc, self.sep, self.quote,
                     self.n_rows, None, self.sheet)
        base = np.arange(self.n_rows) if self.keep is None else self.keep
        out.keep = base[keep]
        out._exact = self._exact
        return out

    def _text_lines(self, rows: np.ndarray) -> np.ndarray:
        if self._exact is None:
            self._exact = self._scan()
        ex = self._exact
        if ex is None:
            return self.first + rows
        return np.where(rows < ex.size, ex[np.minimum(rows, max(ex.size - 1, 0))],
                        self.first + rows)

    def _scan(self) -> np.ndarray | None:
        """Exact start lines of records when the file has blank lines or quoted newlines."""
        if self.src is None or self.enc is None:
            return None
        data = self.src.all_bytes()
        enc = self.enc
        nl = data.count(b"\n") if "16" not in _norm_codec(enc) else None
        if nl is not None:
            lines = nl + (0 if data.endswith(b"\n") else 1)
            if lines == self.first - 1 + self.n_rows:
                return None          # one line per record: arithmetic is exact
        text = data.decode(enc, errors="replace").lstrip("\ufeff")
        buf = _pyio.StringIO(text, newline="")
        for _ in range(self.first - 1):
            buf.readline()
        starts = []
        line_no = self.first - 1
        if self.sep is None:
            for ln in buf:
                line_no += 1
                if ln.strip():
                    starts.append(line_no)
            return np.asarray(starts, dtype=np.int64)
        reader = csv.reader(buf, delimiter=self.sep, quotechar=self.quote)
        prev = self.first - 1
        for rec in reader:
            start = prev + 1
            prev = reader.line_num + self.first - 1
            if rec:                      # Arrow skips empty lines, keeps ",,," rows
                starts.append(start)
        return np.asarray(starts, dtype=np.int64)

    def __call__(self, rows: np.ndarray) -> list[str]:
        rows = np.asarray(rows, dtype=np.int64)
        if self.keep is not None:
            rows = self.keep[rows]
        if self.kind == "text":
            return [f"line {int(x)}" for x in self._text_lines(rows)]
        if self.kind == "excel":
            sh = f" of sheet {self.sheet!r}" if self.sheet is not None else ""
            return [f"row {int(x)}{sh}" for x in self.first + rows]
        return [f"row {int(x) + 1}" for x in rows]


# ---- reading tables --------------------------------------------------------------------
class _Read:
    """What a reader returns: columns (pyarrow), their header names, line numbers."""

    def __init__(self, columns: dict[str, Any], header: list[str], lines: _Lines,
                 n_rows: int, first_column: str | None,
                 fetch: Callable[[str], Any] | None = None) -> None:
        self.columns, self.header, self.lines = columns, header, lines
        self.n_rows, self.first_column = n_rows, first_column
        self._fetch = fetch

    def first_values(self, rows: np.ndarray) -> Any:
        """Values of the file's first column at some rows (read only when needed)."""
        pa = _pa()
        col = self.columns.get(self.first_column)
        if col is None:
            col = self._fetch(self.first_column)
        return col.take(pa.array(np.asarray(rows, dtype=np.int64)))


def _missing_columns(wanted: dict[str, str], header: list[str], label: str,
                     extra: str = "") -> ValueError | None:
    missing = {role: col for role, col in wanted.items() if col not in header}
    if not missing:
        return None
    role, col = next(iter(missing.items()))
    shown = ", ".join(repr(h) for h in header[:15]) + (", ..." if len(header) > 15 else "")
    norm = {re.sub(r"\s+", "", str(h)).casefold(): h for h in header}
    key = re.sub(r"\s+", "", str(col)).casefold()
    if key in norm:
        fix = f"; did you mean {role}={norm[key]!r}?"
    else:
        close = difflib.get_close_matches(str(col), [str(h) for h in header], n=1, cutoff=0.6)
        fix = f"; did you mean {role}={close[0]!r}?" if close else ""
    more = ""
    if len(missing) > 1:
        more = " (also missing: " + ", ".join(f"{r}={c!r}" for r, c in list(missing.items())[1:]) + ")"
    return ValueError(f"{role}={col!r}: no such column in {label}{more}; its columns are "
                      f"{shown}{fix}{extra}")


def _wanted(roles: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for role in _ROLES:
        col = roles.get(role)
        if col is None:
            if role in ("customer", "time"):
                raise TypeError(f"{role}= is required: the name of the {role} column")
            continue
        if not isinstance(col, str):
            raise TypeError(f"{role}= must be a column name (str), got {type(col).__name__}")
        if col in out.values():
            other = next(r for r, c in out.items() if c == col)
            raise ValueError(f"column {col!r} is given as both {other}= and {role}=; each "
                             "role needs its own column")
        out[role] = col
    return out


def _text_options(kw: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(kw) - _TEXT_KW)
    if unknown:
        raise TypeError(f"read_orders() got unexpected keyword argument(s) "
                        f"{', '.join(unknown)}; reader options it takes: "
                        f"{', '.join(sorted(_TEXT_KW))}")
    return kw


def _read_text(src: _Source, wanted: dict[str, str], encoding: str | None, sep: str | None,
               kw: dict[str, Any], progress: Any) -> _Read:
    pa = _pa()
    import pyarrow.csv as pacsv

    sample, complete = src.sample()
    if not sample.strip(b"\r\n\t \x00\xef\xbb\xbf\xff\xfe"):
        raise ValueError(f"{src.label} is empty: there is nothing to read")
    enc = _resolve_encoding(src, encoding, sample, complete)
    text = _decode_sample(sample, enc, complete)
    lines = text.splitlines()
    if not complete and lines:
        lines = lines[:-1]          # the last line of a partial sample may be cut
    skip = int(kw.get("skiprows", 0) or 0)
    if skip < 0:
        raise ValueError(f"skiprows={skip} must be >= 0")
    quote = str(kw.get("quotechar", '"'))
    sep_line = 0
    if lines[skip:] and re.fullmatch(r"sep=(.)", lines[skip].strip()):
        if sep is None:
            sep = lines[skip].strip()[4]
        sep_line = 1
    body = lines[skip + sep_line:]
    if sep is None:
        sep = sniff_delimiter(body)
        whitespace = sep is None
    else:
        if not isinstance(sep, str) or not sep:
            raise TypeError(f"sep must be a one-character delimiter such as \",\" or \"\\t\", "
                            f"got {sep!r}")
        whitespace = sep in (r"\s+", " ", "whitespace")
        if whitespace:
            sep = None
        elif len(sep) != 1:
            raise ValueError(f"sep={sep!r}: use one character (\",\", \"\\t\", \";\", \"|\") "
                             "or \"whitespace\" for runs of blanks")
    header_given = kw.get("header", 0)
    names = kw.get("names")
    if header_given is None:
        if not names:
            raise ValueError("header=None needs names=[...] (one name per column)")
        header = [str(n) for n in names]
        first_data = skip + sep_line + 1
    else:
        if header_given not in (0, "infer"):
            raise ValueError("header= takes 0 (the first line after skiprows is the header) "
                             "or None (no header line; give names=[...])")
        if not body:
            raise ValueError(f"{src.label} is empty: there is nothing to read")
        header = [h.strip() if sep is None else h for h in _split_header(body[0], sep, quote)]
        if names:
            header = [str(n) for n in names]
        first_data = skip + sep_line + 2
    extra = "" if header_given is None or names else header_hint(header)
    if encoding not in (None, "auto") and not src.text_given:
        err = _missing_columns(wanted, header, src.label)
        if err is not None:
            try:
                likely = detect_encoding(sample, complete)
            except ValueError:
                likely = None
            if likely and _norm_codec(likely) != _norm_codec(enc):
                alt = _decode_sample(sample, likely, complete).splitlines()
                if alt:
                    alt_header = _split_header(alt[skip + sep_line], sep, quote) if sep else alt[0].split()
                    if _missing_columns(wanted, alt_header, src.label) is None:
                        raise ValueError(f"{src.label}: the columns are not found when read as "
                                         f"{_pretty(enc)}; the file looks like {_pretty(likely)}: "
                                         f"pass encoding=\"{likely}\" (or encoding=\"auto\")")
    err = _missing_columns(wanted, header, src.label, extra)
    if err is not None:
        if len(header) == 1 and all(c in header[0] for c in wanted.values()):
            raise ValueError(f"{src.label}: the header was read as one column {header[0]!r}; "
                             "pass the delimiter, e.g. sep=\"\\t\" or sep=\"whitespace\"")
        raise err
    if len(set(header)) != len(header):
        dup = sorted({h for h in header if header.count(h) > 1})
        used = [c for c in wanted.values() if c in dup]
        if used:
            raise ValueError(f"{src.label}: the header has the column name(s) "
                             f"{', '.join(repr(d) for d in used)} more than once; rename them "
                             "in the file or pass names=[...] for every column")
    first_col = header[0]
    need = list(dict.fromkeys(wanted.values()))
    est_rows = _estimate_rows(src, sample, complete)
    reporter = _progress_reporter(progress, src, est_rows)
    if body[1:] == [] and complete and header_given is not None:
        raise ValueError(f"{src.label} has a header but no data rows: there is nothing to "
                         "read")
    if whitespace:
        table = _read_whitespace(src, enc, header, need, skip + sep_line, header_given, names)
    else:
        fast_gb = _fast_transcode(enc)
        pa_enc = "utf8" if _norm_codec(enc) in ("utf_8", "utf_8_sig") or fast_gb else enc
        read_opts = dict(encoding=pa_enc, skip_rows=skip + sep_line, block_size=1 << 22,
                         use_threads=True)
        if header_given is None or names:
            read_opts["column_names"] = header
            if header_given is not None:
                read_opts["skip_rows"] = skip + sep_line + 1
        conv = pacsv.ConvertOptions(include_columns=need,
                                    column_types={c: pa.string() for c in need},
                                    strings_can_be_null=False, quoted_strings_can_be_null=False)
        table = None
        for newlines in (False, True):
            parse = pacsv.ParseOptions(delimiter=sep, quote_char=quote,
                                       newlines_in_values=newlines)
            try:
                with src.stream(reporter.count if reporter else None) as stream:
                    if fast_gb:
                        stream = pa.PythonFile(_GbToUtf8(stream), mode="r")
                    table = pacsv.read_csv(stream, read_options=pacsv.ReadOptions(**read_opts),
                                           parse_options=parse, convert_options=conv)
                break
            except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
                msg = str(exc)
                if "invalid UTF8" in msg or isinstance(exc, UnicodeDecodeError):
                    return _reread_other_encoding(src, wanted, encoding, sep, kw, progress, enc)
                if newlines and "Expected" in msg and "columns" in msg:
                    raise ValueError(_ragged_message(src, msg, enc, sep, quote,
                                                     first_data, len(header))) from None
                if not newlines:
                    continue
                raise ValueError(f"{src.label}: cannot read the file as delimited text "
                                 f"(delimiter {sep!r}): {' '.join(msg.split())[:300]}") from None
        if reporter:
            reporter.done()
    n = table.num_rows
    if n == 0:
        raise ValueError(f"{src.label} has a header but no data rows: there is nothing to "
                         "read")
    cols = {c: table.column(c) for c in need}
    del table
    lines_map = _Lines("text", first_data, src, enc, sep, quote, n)

    def fetch(name: str) -> Any:
        # the first column, for telling 合计 rows: read again, that column only
        if whitespace:
            t = _read_whitespace(src, enc, header, [name], skip + sep_line, header_given, names)
        else:
            c1 = pacsv.ConvertOptions(include_columns=[name], column_types={name: pa.string()},
                                      strings_can_be_null=False)
            with src.stream() as stream:
                if fast_gb:
                    stream = pa.PythonFile(_GbToUtf8(stream), mode="r")
                t = pacsv.read_csv(stream, read_options=pacsv.ReadOptions(**read_opts),
                                   parse_options=parse, convert_options=c1)
        if t.num_rows != n:  # pragma: no cover - same file, same options
            raise RuntimeError("the file changed while it was read")
        return t.column(0)

    return _Read(cols, header, lines_map, n, first_col, fetch)


def _reread_other_encoding(src: _Source, wanted, encoding, sep, kw, progress, enc) -> _Read:
    """The sample decoded but a later part of the file did not."""
    data = src.all_bytes()
    if encoding not in (None, "auto"):
        ok, pos = _decodes(data, enc, True)
        likely = None
        try:
            likely = detect_encoding(data)
        except ValueError:
            pass
        if likely and _norm_codec(likely) not in _LIKELY:
            likely = None            # a detector's guess for a damaged file: not a fix
        hint = (f"it looks like {_pretty(likely)}: pass encoding=\"{likely}\"" if likely
                else "the line may be damaged or in another encoding: fix it in the file")
        raise ValueError(f"{src.label} is not {_pretty(enc)} text (byte 0x{data[max(pos, 0)]:02x} on "
                         f"line {_line_of_byte(data, pos)} does not decode); {hint}")
    likely = detect_encoding(data)
    if _norm_codec(likely) == _norm_codec(enc):
        ok, pos = _decodes(data, enc, True)
        raise ValueError(f"{src.label}: byte 0x{data[max(pos, 0)]:02x} on line "
                         f"{_line_of_byte(data, pos)} is not valid {_pretty(enc)}; pass the "
                         "file's encoding as encoding=")
    return _read_text(src, wanted, likely, sep, kw, progress)


def _ragged_message(src: _Source, msg: str, enc: str, sep: str, quote: str, first: int,
                    width: int) -> str:
    data = src.all_bytes().decode(enc, errors="replace").lstrip("\ufeff")
    reader = csv.reader(_pyio.StringIO(data, newline=""), delimiter=sep, quotechar=quote)
    bad = []
    for rec in reader:
        if reader.line_num >= first and rec and len(rec) != width:
            bad.append((reader.line_num, len(rec)))
            if len(bad) >= 3:
                break
    if bad:
        where = ", ".join(f"line {ln} has {k}" for ln, k in bad)
        return (f"{src.label}: rows do not match the header's {width} fields ({where}); "
                f"check the delimiter (sep={sep!r}) and quoting in those lines")
    return f"{src.label}: cannot read the file as delimited text: {' '.join(msg.split())[:300]}"


def _read_whitespace(src: _Source, enc: str, header: list[str], need: list[str], skip: int,
                     header_given: Any, names: Any) -> Any:
    pa = _pa()
    buf = _pyio.BytesIO(src.all_bytes())
    kwargs: dict[str, Any] = dict(sep=r"\s+", dtype=str, keep_default_na=False,
                                  encoding=enc, skiprows=skip, compression=src.compression())
    if header_given is None or names:
        kwargs.update(header=None if header_given is None else 0, names=header)
    df = pd.read_csv(buf, usecols=need, **kwargs)
    return pa.Table.from_pandas(df[need], preserve_index=False)


def _estimate_rows(src: _Source, sample: bytes, complete: bool) -> int:
    nl = max(sample.count(b"\n"), 1)
    if complete:
        return nl
    if src.compression():
        return nl * 5 * max(src.size() // max(len(sample), 1), 1)
    return int(nl * src.size() / max(len(sample), 1))


class _Progress:
    def __init__(self, total: int, label: str, sink: Any) -> None:
        self.total, self.label, self.read = total, label, 0
        self.bar = None
        self.sink = sink
        self.next_pct = 10
        self.t0 = _time.perf_counter()
        if sink is None:
            try:
                from tqdm import tqdm

                self.bar = tqdm(total=total, unit="B", unit_scale=True, desc="siyu: reading",
                                file=sys.stderr, leave=False)
            except ImportError:
                self.bar = None

    def count(self, n: int) -> None:
        self.read += n
        if self.bar is not None:
            self.bar.update(n)
            return
        pct = min(100 * self.read // max(self.total, 1), 100)
        if pct >= self.next_pct:
            self.next_pct = pct - pct % 10 + 10
            line = (f"siyu: reading {self.label}: {pct}% ({self.read / 1e6:,.0f} of "
                    f"{self.total / 1e6:,.0f} MB, {_time.perf_counter() - self.t0:.1f} s)")
            if callable(self.sink):
                self.sink(line)
            else:
                sys.stderr.write(line + "\n")
                sys.stderr.flush()

    def done(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _progress_reporter(progress: Any, src: _Source, est_rows: int) -> _Progress | None:
    if not progress or est_rows <= PROGRESS_ROWS:
        return None
    sink = progress if callable(progress) else ("lines" if progress == "lines" else None)
    return _Progress(src.size(), os.path.basename(src.label), sink)


def _excel_engine(label: str) -> str:
    try:
        import python_calamine  # noqa: F401

        major, minor = (int(x) for x in pd.__version__.split(".")[:2])
        if (major, minor) >= (2, 2):          # pandas' calamine engine
            return "calamine"
    except (ImportError, ValueError):
        pass
    low = label.lower()
    try:
        if low.endswith(".xls"):
            import xlrd  # noqa: F401
            return "xlrd"
        import openpyxl  # noqa: F401
        return "openpyxl"
    except ImportError:
        raise ImportError("reading Excel workbooks needs the excel extra: "
                          "pip install \"siyu[excel]\" (python-calamine)") from None


def _cell_text(v: Any) -> str:
    if v is None or (isinstance(v, float) and v != v) or v is pd.NaT:
        return ""
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        return str(int(v))
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if hasattr(v, "strftime") and hasattr(v, "year"):
        return v.strftime("%Y-%m-%d %H:%M:%S") if hasattr(v, "hour") else v.strftime("%Y-%m-%d")
    return str(v)


def _excel_column(s: pd.Series, role: str | None) -> Any:
    """A column of spreadsheet cells as a pyarrow array (typed when the cells agree)."""
    pa = _pa()
    vals = s.to_numpy(dtype=object)
    present = [v for v in vals if not (v is None or (isinstance(v, float) and v != v))]
    kinds = {type(v) for v in present}
    if role not in ("customer", "order") and kinds and all(
            issubclass(k, (pd.Timestamp,)) or k.__name__ in ("datetime", "date") for k in kinds):
        return pa.array(pd.to_datetime(pd.Series(vals)).to_numpy(), pa.timestamp("s"))
    if role not in ("customer", "order") and kinds and all(
            issubclass(k, (int, float)) and k is not bool for k in kinds):
        return pa.array(pd.to_numeric(pd.Series(vals), errors="coerce").to_numpy(np.float64),
                        pa.float64())
    return pa.array([_cell_text(v) for v in vals], pa.string())


def _read_excel(src: _Source, wanted: dict[str, str], sheet: Any, kw: dict[str, Any]) -> _Read:
    target = src.path if src.path is not None else _pyio.BytesIO(src.data)
    engine = _excel_engine(src.label)
    unknown = sorted(set(kw) - _TEXT_KW - {"quotechar"})
    if unknown:
        raise TypeError(f"read_orders() got unexpected keyword argument(s) {', '.join(unknown)}"
                        f" for an Excel workbook; it takes skiprows, header, names")
    skip = int(kw.get("skiprows", 0) or 0)
    header_given = kw.get("header", 0)
    names = kw.get("names")
    xl = pd.ExcelFile(target, engine=engine)
    sheets = [str(s) for s in xl.sheet_names]
    if sheet is None:
        sheet_name: Any = xl.sheet_names[0]
    elif isinstance(sheet, int) and not isinstance(sheet, bool):
        if not 0 <= sheet < len(sheets):
            raise ValueError(f"sheet={sheet}: {src.label} has {len(sheets)} sheet(s): "
                             f"{', '.join(repr(s) for s in sheets)}")
        sheet_name = xl.sheet_names[sheet]
    elif str(sheet) in sheets:
        sheet_name = xl.sheet_names[sheets.index(str(sheet))]
    else:
        raise ValueError(f"sheet={sheet!r}: no such sheet in {src.label}; its sheets are "
                         f"{', '.join(repr(s) for s in sheets)}")
    df = pd.read_excel(xl, sheet_name=sheet_name, dtype=object, skiprows=skip,
                       header=None if header_given is None else 0,
                       names=names if names else None)
    if df.shape[1] == 0 and df.shape[0] == 0:
        raise ValueError(f"sheet {sheet_name!r} of {src.label} is empty: there is nothing to "
                         "read")
    header = [str(c) for c in df.columns]
    df.columns = header
    err = _missing_columns(wanted, header, f"sheet {sheet_name!r} of {src.label}")
    if err is not None:
        raise err
    if df.shape[0] == 0:
        raise ValueError(f"sheet {sheet_name!r} of {src.label} has a header but no data rows: "
                         "there is nothing to read")
    first_col = header[0]
    roles_of = {c: r for r, c in wanted.items()}
    need = list(dict.fromkeys(list(wanted.values()) + [first_col]))
    cols = {c: _excel_column(df[c], roles_of.get(c)) for c in need}
    first = skip + (1 if header_given is None else 2)
    lines = _Lines("excel", first, n_rows=len(df), sheet=str(sheet_name))
    return _Read(cols, header, lines, len(df), first_col)


def _read_parquet(src: _Source, wanted: dict[str, str], kw: dict[str, Any]) -> _Read:
    import pyarrow.parquet as pq

    if kw:
        raise TypeError(f"read_orders() got unexpected keyword argument(s) "
                        f"{', '.join(sorted(kw))} for a Parquet file")
    target = src.path if src.path is not None else _pa().BufferReader(src.data)
    pf = pq.ParquetFile(target)
    header = list(pf.schema_arrow.names)
    err = _missing_columns(wanted, header, src.label)
    if err is not None:
        raise err
    if pf.metadata.num_rows == 0:
        raise ValueError(f"{src.label} has no data rows: there is nothing to read")
    first_col = header[0]
    need = list(dict.fromkeys(wanted.values()))
    table = pf.read(columns=need)
    cols = {c: table.column(c) for c in need}
    return _Read(cols, header, _Lines("parquet", 0, n_rows=table.num_rows), table.num_rows,
                 first_col, lambda name: pf.read(columns=[name]).column(0))


def read_table(path_or_buffer: Any, columns: dict[str, str], *, encoding: str | None = "auto",
               sep: str | None = None, sheet: Any = None, progress: Any = False,
               **reader_kwargs: Any) -> _Read:
    """Read the named columns of an export (text, Excel or Parquet) as Arrow columns.

    ``columns`` maps a role (used in messages: ``customer``, ``time``, ...) to a
    column name.  Returns an object with ``columns`` (name -> pyarrow array, text
    columns as strings), ``header``, ``n_rows`` and ``lines`` (row -> "line N").
    """
    if not isinstance(columns, Mapping):
        raise TypeError("columns must map roles to column names, e.g. "
                        "columns={'customer': '买家ID', 'time': '付款时间'}")
    src = _Source(path_or_buffer)
    wanted = {r: c for r, c in columns.items() if c is not None}
    if src.kind == "excel":
        return _read_excel(src, wanted, sheet, reader_kwargs)
    if src.kind == "parquet":
        return _read_parquet(src, wanted, reader_kwargs)
    return _read_text(src, wanted, encoding, sep, _text_options(dict(reader_kwargs)), progress)


# ---- read_orders ---------------------------------------------------------------------------
def read_orders(path_or_buffer: Any, customer: str, time: str, amount: str | None = None, *,
                order: str | None = None, status: str | None = None, refund: str | None = None,
                channel: str | None = None, member: str | None = None,
                paid: Iterable[str] | None = None, refunded: Iterable[str] | None = None,
                void: Iterable[str] | None = None, product: str | None = None,
                category: str | None = None, quantity: str | None = None,
                encoding: str | None = "auto", sep: str | None = None, sheet: Any = None,
                tz: str | None = None, time_format: str | None = None, on_bad: str = "raise",
                progress: Any = False, **reader_kwargs: Any) -> Any:
    """Read a shop's order export into :class:`siyu.Transactions`.

    Parameters
    ----------
    path_or_buffer : str, path-like, bytes or file object
        The export: CSV / TSV / semicolon / ``|`` / whitespace-aligned text (optionally
        ``.gz``/``.bz2`` compressed), an Excel workbook (``.xlsx``, ``.xls``; needs the
        ``excel`` extra) or Parquet.  File objects are recognised by their first bytes.
    customer, time : str
        Column names of the customer id and the order time.  Ids are read as text:
        ``"00123"`` and ``"123"`` are two customers.
    amount : str, optional
        Column of order (or line) amounts, numbers or text such as ``￥1,299.00``,
        ``1299元``, ``RMB 1,299``, ``(12.00)`` (negative), full-width digits.
    order, status, refund, channel, member, paid, refunded, void, product, category, quantity
        As in :class:`siyu.Transactions` (order ids read as text; the refund column
        as an amount, blank = no refund; member flags 是/否, 会员/非会员, Y/N, yes/no,
        true/false, 1/0, blank = no).
    encoding : str, default "auto"
        ``"auto"`` detects UTF-8 (with or without BOM), UTF-16 and GB18030/GBK; or a
        Python codec name.  A wrong explicit encoding is an error naming the likely one.
    sep : str, optional
        Delimiter of text files (sniffed by default); ``"whitespace"`` for runs of
        blanks.
    sheet : str or int, optional
        Sheet of a workbook (default: the first).
    tz : str, optional
        Times written with a UTC offset (``2024-03-05T14:22:01+08:00``, ``...Z``) are
        converted to this zone; times without one are taken as local wall time.
    time_format : str, optional
        ``"dmy"`` / ``"mdy"`` for ``5/3/2024``-style dates, ``"excel"`` for Excel serial
        day numbers, ``"s"`` / ``"ms"`` for epoch seconds / milliseconds, or a strftime
        format (``"%d.%m.%Y %H:%M"``), which always wins.  Without it the forms read are
        ISO (``2024-03-05 14:22:01``, with ``T`` and offsets), ``2024/3/5 14:22:01``,
        ``2024.3.5``, ``2024年3月5日 [14:22[:01]]``, ``20240305`` (text or integers) and
        ``a/b/yyyy`` when the column shows which field is the day.
    on_bad : {"raise", "drop"}, default "raise"
        What to do with rows whose id, time, amount or refund cannot be read: raise an
        error showing them, or drop them (counted in ``tx.quality``).
    progress : bool or callable, default False
        Report progress while reading text files over a million rows (a tqdm bar
        when tqdm is installed, else lines on stderr; a callable receives the lines).
    **reader_kwargs
        ``skiprows`` (lines before the header), ``header=None`` with ``names=[...]``
        (files without a header line), ``quotechar``; ``true_values`` /
        ``false_values`` extend the member flags.

    Returns
    -------
    Transactions
        With ``quality`` counting what reading dropped: total rows (合计 / 总计 /
        Total in the id or first column with no valid time), blank rows and, with
        ``on_bad="drop"``, unreadable rows.

    Raises
    ------
    ValueError
        Missing column, empty or header-only file, undecodable text, unparseable
        amounts or times, ambiguous dates, unknown member flags: the message names the
        column, shows up to three raw values with their line numbers and the fix.
    ImportError
        An Excel workbook without the ``excel`` extra installed.

    Examples
    --------
    >>> import io, siyu
    >>> export = "买家ID,下单时间,实付金额\\n00123,2024/3/5 14:22:01,\\"￥1,299.00\\"\\n123,2024年3月6日,￥5\\n合计,,\\"￥1,304.00\\"\\n"
    >>> tx = siyu.read_orders(io.BytesIO(export.encode("gbk")), customer="买家ID",
    ...                       time="下单时间", amount="实付金额")
    >>> tx.n_customers, tx.n_rows
    (2, 2)
    >>> tx.customer_ids.tolist()
    ['00123', '123']
    """
    if on_bad not in ("raise", "drop"):
        raise ValueError(f"on_bad must be \"raise\" or \"drop\", got {on_bad!r}")
    from siyu._input import check_tz

    check_tz(tz)              # before any file is read
    if time_format is not None and not isinstance(time_format, str):
        raise TypeError(f"time_format must be a string such as \"%Y-%m-%d\", \"dmy\", "
                        f"\"excel\" or \"s\", got {time_format!r}")
    roles = dict(customer=customer, time=time, amount=amount, order=order, status=status,
                 refund=refund, channel=channel, member=member, product=product,
                 category=category, quantity=quantity)
    wanted = _wanted(roles)
    flags_kw = {k: reader_kwargs.pop(k) for k in ("true_values", "false_values")
                if k in reader_kwargs}
    read = read_table(path_or_buffer, wanted, encoding=encoding, sep=sep, sheet=sheet,
                      progress=progress, **reader_kwargs)
    data, quality = _clean(read, wanted, time_format=time_format, tz=tz, on_bad=on_bad,
                           excel_ok=read.lines.kind == "excel", **flags_kw)
    del read
    _release_arrow_memory()
    return _make_transactions(data, wanted, quality, tz=tz, paid=paid, refunded=refunded,
                              void=void)


def _release_arrow_memory() -> None:
    """Give the parsed text columns' memory back to the system before construction."""
    try:
        _pa().default_memory_pool().release_unused()
    except AttributeError:  # pragma: no cover - old pyarrow
        pass


_OVERLAP_ROWS = 1_000_000     # below this, a thread costs more than it saves


class _Background:
    """``fn(*args)`` run in a daemon thread; ``result()`` waits and returns it or raises
    its exception.  A caller interrupted while waiting (Ctrl-C) leaves at once; the
    thread's result is then dropped."""

    def __init__(self, fn: Callable[..., Any], *args: Any) -> None:
        import threading

        self._out: list[Any] = []
        self._err: list[BaseException] = []

        def run() -> None:
            try:
                self._out.append(fn(*args))
            except BaseException as exc:  # handed to the caller by result()
                self._err.append(exc)

        self._thread = threading.Thread(target=run, name="siyu-background", daemon=True)
        self._thread.start()

    def result(self) -> Any:
        while self._thread.is_alive():
            self._thread.join(0.1)
        if self._err:
            raise self._err[0]
        return self._out[0]


def _clean(read: _Read, wanted: dict[str, str], *, time_format: str | None, tz: str | None,
           on_bad: str, excel_ok: bool, true_values: Sequence[str] = (),
           false_values: Sequence[str] = ()) -> tuple[dict[str, Any], dict[str, int]]:
    """Parse the columns read; drop (and count) total rows, blank rows and bad rows.

    Returns the columns for Transactions (customer as int64 ranks of the id texts, with
    the texts under ``"__ids__"``) and the reading step's quality counts.
    """
    from siyu import _parse as P

    pa = _pa()
    cols = read.columns
    n = read.n_rows
    where = read.lines
    quality: dict[str, int] = {}
    cname, tname = wanted["customer"], wanted["time"]
    tcol, ccol = cols[tname], cols[cname]

    # the ids are factorised in another thread while the times are parsed: their C
    # kernels release the GIL, and factorising is mostly one core's work
    ids_job = _Background(P.factorize_ids, ccol) if n >= _OVERLAP_ROWS else None
    secs, offs, tbad = P.times_with_offsets(tcol, tname, where, time_format, excel_ok=excel_ok)
    codes, texts, n_stripped = ids_job.result() if ids_job else P.factorize_ids(ccol)
    cblank = codes < 0
    # totals and blank rows have no valid time: look only at those rows
    drop = np.zeros(n, dtype=bool)
    cand = np.flatnonzero(tbad | cblank)
    if cand.size:
        take = pa.array(cand)
        used = [cols[c].take(take) for c in dict.fromkeys(wanted.values())]
        blank_rows = np.ones(cand.size, dtype=bool)
        for c in used:
            blank_rows &= P.blank(c)
        total = (P.is_total_row(P.as_text_ids(ccol.take(take))) |
                 P.is_total_row(read.first_values(cand))) & tbad[cand] & ~blank_rows
        drop[cand[total | blank_rows]] = True
        if total.any():
            quality["total_rows_dropped"] = int(total.sum())
        if blank_rows.any():
            quality["blank_rows_dropped"] = int(blank_rows.sum())
    bad_any = np.zeros(n, dtype=bool)

    def problem(mask: np.ndarray, err: Callable[[np.ndarray], Exception]) -> None:
        mask = mask & ~drop
        if not mask.any():
            return
        if on_bad == "raise":
            raise err(mask)
        bad_any[:] |= mask

    def id_error(mask: np.ndarray) -> Exception:
        rows = np.flatnonzero(mask)
        return P.ParseError(f"customer column {cname!r} (customer=): "
                            f"{rows.size:,} row(s) have no customer id: "
                            f"{P.show_rows(ccol, rows, where, rows.size)} (the first of them: "
                            f"{_row_preview(read, rows[0])}); {P.drop_hint()}", rows)

    problem(cblank, id_error)
    problem(tbad, lambda m: P.time_error(tcol, tname, m, where, time_format))
    # the text of ids and times is no longer needed (memory)
    if cname not in [c for r, c in wanted.items() if r not in ("customer", "time")]:
        cols.pop(cname, None)
    if tname not in [c for r, c in wanted.items() if r not in ("customer", "time")]:
        cols.pop(tname, None)
    del tcol, ccol
    released = {cname, tname}
    parsed: dict[str, Any] = {}
    for role, blank_value in (("amount", None), ("refund", 0.0), ("quantity", None)):
        if role not in wanted:
            continue
        name = wanted[role]
        vals, bad = P.amounts(cols[name], name, where, what=role, blank=blank_value)
        problem(bad, lambda m, c=cols[name], nm=name, r=role:
                P.amount_error(c, nm, m, where, what=r, arg=r))
        parsed[role] = vals
        released.add(name)
    # the parsed columns' text is no longer needed (memory)
    others = {c for r, c in wanted.items() if r not in ("customer", "time", "amount", "refund",
                                                         "quantity")}
    for name in released - others:
        cols.pop(name, None)
    keep = ~(drop | bad_any)
    if bad_any.any():
        quality["unreadable_rows_dropped"] = int((bad_any & ~drop).sum())
    if not keep.any():
        raise ValueError(f"{read.lines.src.label if read.lines.src else 'the file'}: no data "
                         f"rows left after dropping "
                         f"{', '.join(f'{v:,} {k}' for k, v in quality.items())}")
    all_kept = bool(keep.all())
    idx = None if all_kept else np.flatnonzero(keep)
    keep_arr = None if all_kept else pa.array(keep)

    def sel(a: Any) -> Any:
        return a if all_kept else a[idx]

    def sel_arrow(a: Any) -> Any:
        return a if all_kept else a.filter(keep_arr)

    flag = None
    if "member" in wanted:
        mcol = cols[wanted["member"]]
        flag = P.flags(sel_arrow(mcol), wanted["member"],
                       where if all_kept else where.restrict(idx), true_values, false_values)
    c = sel(codes)
    if not all_kept:
        # ids seen only on dropped rows (a 合计 "id") are not customers
        present = np.bincount(c, minlength=len(texts)) > 0
        if not present.all():
            remap = np.cumsum(present) - 1
            c = remap[c]
            texts = texts.filter(pa.array(present))
    # ids go to Transactions as ranks, so the stripping it would count is counted here
    quality["customer_ids_stripped"] = int(n_stripped)
    out: dict[str, Any] = {cname: np.ascontiguousarray(c, dtype=np.int64),
                           "__ids__": P.text_index(texts, cname),
                           "__lines__": where if all_kept else where.restrict(idx)}
    s = sel(secs)
    if offs is not None and tz is not None:
        # times written with an offset, converted to the wall clock of tz
        utc = s - sel(offs).astype(np.int64) * 60
        when = pd.DatetimeIndex(utc.view("datetime64[s]"), tz="UTC").tz_convert(tz)
        s = when.tz_localize(None).to_numpy().astype("datetime64[s]").view(np.int64)
    # seconds, not days: construction takes the day itself, and its exact-duplicate
    # count compares the full time (two orders on one day are not duplicates)
    out[tname] = s.view("datetime64[s]")
    for role in ("amount", "refund", "quantity"):
        if role in parsed:
            out[wanted[role]] = sel(parsed[role])
    if flag is not None:
        out[wanted["member"]] = flag
    for role in ("order", "status", "channel", "product", "category"):
        if role in wanted:
            col = sel_arrow(cols[wanted[role]])
            if role == "order":
                col = P.as_text_ids(col)
            out[wanted[role]] = _labels(col)
    return out, quality


def _labels(col: Any) -> np.ndarray:
    """A text column (statuses, channels, order ids...) stripped, blanks missing (None)."""
    return _strip_text(col).to_numpy(zero_copy_only=False)


def _strip_text(col: Any) -> Any:
    import pyarrow.compute as pc

    pa = _pa()
    arr = pa.chunked_array(col.chunks if hasattr(col, "chunks") else [col])
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = arr.cast(pa.string())
    t = pc.utf8_trim_whitespace(arr)
    return pc.if_else(pc.equal(pc.utf8_length(t), 0), pa.scalar(None, t.type), t)


def _row_preview(read: _Read, row: int) -> str:
    parts = []
    for name, col in list(read.columns.items())[:6]:
        try:
            v = col[int(row)].as_py()
        except Exception:  # pragma: no cover
            v = None
        parts.append(f"{name}={'' if v is None else v!s}")
    return ", ".join(parts)


def _make_transactions(data: dict[str, Any], wanted: dict[str, str], quality: dict[str, int],
                       *, tz: str | None, paid: Any, refunded: Any, void: Any) -> Any:
    from siyu.transactions import Transactions

    ids = data.pop("__ids__")
    kwargs: dict[str, Any] = {role: wanted.get(role) for role in _ROLES}
    # customers go in as int64 codes into their texts (cheap to group)
    lines = data.pop("__lines__", None)
    try:
        tx = Transactions(data, tz=tz, paid=paid, refunded=refunded, void=void,
                          quality=quality, customer_ids=ids, **kwargs)
    except ValueError as exc:
        status = wanted.get("status")
        if status and lines is not None and str(exc).startswith(f"status column {status!r}"):
            raise ValueError(f"{exc} ({_unknown_status_lines(data[status], status, lines, paid, refunded, void)})") from None
        raise
    return tx


def _unknown_status_lines(values: np.ndarray, name: str, lines: _Lines, paid: Any,
                          refunded: Any, void: Any) -> str:
    """Where the unknown statuses are: 'first at line 3: '售后中', line 7: ...'."""
    from siyu import _orders
    from siyu import _parse as P

    uniq, first = np.unique(np.asarray(values, dtype=object).astype(str), return_index=True)
    unknown = []
    for u in uniq[:1000]:
        try:
            _orders.statuses(np.array([None if u == "None" else u], dtype=object), name, paid,
                             refunded, void)
        except ValueError:
            unknown.append(u)
    if not unknown:
        return "see the status column"
    rows = np.flatnonzero(np.isin(np.asarray(values, dtype=object).astype(str), unknown))
    shown = rows[:P.SHOWN]
    vals = ["" if v is None else str(v) for v in np.asarray(values, dtype=object)[shown]]
    return "first at " + ", ".join(f"{loc}: {v!r}" for loc, v in zip(lines(shown), vals))


def read_spend(path_or_buffer: Any, period: str = "period", amount: str = "amount",
               channel: str | None = None, *, channel_as: str | None = None,
               encoding: str | None = "auto", sep: str | None = None, sheet: Any = None,
               **reader_kwargs: Any) -> pd.DataFrame:
    """Read an acquisition-spend table (period, amount[, channel]) for unit economics.

    Periods may be months written as ``2023年1月``, ``2023-01``, ``2023/1``,
    ``202301`` or any date in the period; amounts as in :func:`read_orders`.  Returns
    a DataFrame with columns ``period`` (Timestamp: first day of the month, or the
    date as written), ``amount`` and the channel column (renamed to ``channel_as``
    when given), ready for :func:`siyu.unit_economics`.

    Examples
    --------
    >>> import io
    >>> from siyu.io import read_spend
    >>> s = read_spend(io.StringIO("月份,投放\\n2023年1月,\\"￥1,000\\"\\n2023年2月,￥800\\n"),
    ...                period="月份", amount="投放")
    >>> s["amount"].tolist(), s["period"].dt.strftime("%Y-%m").tolist()
    ([1000.0, 800.0], ['2023-01', '2023-02'])
    """
    from siyu import _parse as P

    pa = _pa()
    import pyarrow.compute as pc

    wanted = {"spend period": period, "spend amount": amount}
    if channel is not None:
        wanted["spend channel"] = channel
    read = read_table(path_or_buffer, wanted, encoding=encoding, sep=sep, sheet=sheet,
                      **reader_kwargs)
    where = read.lines
    pcol = read.columns[period]
    keep = ~P.blank(pcol)
    typ = pcol.type
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        t = pc.utf8_trim_whitespace(pcol)
        # months: 2023年1月 -> 2023-1-1, 2023-01 / 2023/1 / 2023.1 -> 2023-1-1, 202301 -> 2023-01-01
        t = pc.replace_substring_regex(t, r"^(\d{4})\s*年\s*(\d{1,2})\s*月?$", r"\1-\2-1")
        t = pc.replace_substring_regex(t, r"^(\d{4})[-/.](\d{1,2})$", r"\1-\2-1")
        t = pc.replace_substring_regex(t, r"^(\d{4})(\d{2})$", r"\1-\2-01")
        pcol = t
    secs, bad = P.times(pcol, period, where)
    total = np.zeros(len(bad), dtype=bool)
    if bad.any():
        rows = np.flatnonzero(bad)
        total[rows] = P.is_total_row(read.first_values(rows))
    keep &= ~total
    if (bad & keep).any():
        rows = np.flatnonzero(bad & keep)
        raise ValueError(f"spend period column {period!r}: {rows.size:,} value(s) are not "
                         f"months or dates: {P.show_rows(read.columns[period], rows, where, rows.size)}; "
                         "write months as 2023-01, 2023/1 or 2023年1月")
    vals, abad = P.amounts(read.columns[amount], amount, where, what="spend amount")
    if (abad & keep).any():
        raise P.amount_error(read.columns[amount], amount, abad & keep, where,
                             what="spend amount", arg="amount")
    idx = np.flatnonzero(keep)
    out = pd.DataFrame({"period": secs[idx].view("datetime64[s]").astype("datetime64[ns]"),
                        "amount": vals[idx]})
    if channel is not None:
        ch = read.columns[channel].filter(pa.array(keep))
        out[channel_as or channel] = pd.Series(ch.to_numpy(zero_copy_only=False), dtype=object)
    return out


def read_csv(path_or_buffer: Any, customer: str = "customer_id", time: str = "date",
             amount: str | None = "amount", **kwargs: Any) -> Any:
    """Alias of :func:`read_orders` (the one way to read a file), kept for old scripts.

    The defaults ``customer="customer_id"``, ``time="date"``, ``amount="amount"`` are
    those of earlier versions; every other argument is :func:`read_orders`'.

    Examples
    --------
    >>> import io, siyu
    >>> tx = siyu.read_csv(io.StringIO("id,t,amt\\n1,2024-01-01,9.5\\n"),
    ...                    customer="id", time="t", amount="amt")
    >>> tx.n_rows
    1
    """
    return read_orders(path_or_buffer, customer, time, amount, **kwargs)


def read_header(path_or_buffer: Any, *, encoding: str | None = "auto", sep: str | None = None,
                sheet: Any = None, **reader_kwargs: Any) -> tuple[list[str], bool]:
    """Column names of an export and whether it has at least one data row.

    Reads only a sample (text), the first rows of the sheet (Excel) or the schema
    (Parquet).  Raises ValueError for an empty file.
    """
    src = _Source(path_or_buffer)
    if src.kind == "parquet":
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(src.path if src.path is not None else _pa().BufferReader(src.data))
        return list(pf.schema_arrow.names), pf.metadata.num_rows > 0
    if src.kind == "excel":
        target = src.path if src.path is not None else _pyio.BytesIO(src.data)
        xl = pd.ExcelFile(target, engine=_excel_engine(src.label))
        name = xl.sheet_names[0] if sheet is None else (
            xl.sheet_names[sheet] if isinstance(sheet, int) and 0 <= sheet < len(xl.sheet_names)
            else sheet)
        if name not in xl.sheet_names:
            raise ValueError(f"sheet={sheet!r}: no such sheet in {src.label}; its sheets are "
                             f"{', '.join(repr(str(s)) for s in xl.sheet_names)}")
        skip = int(reader_kwargs.get("skiprows", 0) or 0)
        df = pd.read_excel(xl, sheet_name=name, nrows=1, skiprows=skip, dtype=object)
        return [str(c) for c in df.columns], len(df) > 0
    sample, complete = src.sample()
    if not sample.strip(b"\r\n\t \x00\xef\xbb\xbf\xff\xfe"):
        raise ValueError(f"{src.label} is empty: there is nothing to read")
    enc = _resolve_encoding(src, encoding, sample, complete)
    lines = _decode_sample(sample, enc, complete).splitlines()
    skip = int(reader_kwargs.get("skiprows", 0) or 0)
    lines = lines[skip:]
    if lines and re.fullmatch(r"sep=(.)", lines[0].strip()):
        sep = sep or lines[0].strip()[4]
        lines = lines[1:]
    lines = [ln for ln in lines if ln.strip()]
    if not lines:
        raise ValueError(f"{src.label} is empty: there is nothing to read")
    if reader_kwargs.get("names"):
        return [str(n) for n in reader_kwargs["names"]], True
    if sep is None:
        sep = sniff_delimiter(lines)
    elif sep in (r"\s+", " ", "whitespace"):
        sep = None
    quote = str(reader_kwargs.get("quotechar", '"'))
    header = [h.strip() if sep is None else h for h in _split_header(lines[0], sep, quote)]
    return header, len(lines) > 1
