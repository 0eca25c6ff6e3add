"""Inspect a MAT file's variable headers before anything is allocated.

scipy.io.loadmat trusts the sizes a file declares; a hostile or damaged file can declare a
1e12-element array or carry a compressed element that inflates to gigabytes. This module walks
the top level of a MATLAB v4 or v5/v7 file, checks every declared size against the bytes that
are really there (and against a cap for compressed elements), and reports each variable's
name, class and dimensions. Only then does the loader hand the bytes to scipy, asking for the
variables that passed.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

__all__ = ["MatFormatError", "VariableHeader", "scan_variables"]

# MAT v5 element types and array classes (MATLAB "MAT-File Format", tables 1-2 and 1-3).
_MI_INT8, _MI_INT32, _MI_UINT32, _MI_MATRIX, _MI_COMPRESSED = 1, 5, 6, 14, 15
_CLASS_NAMES = {
    1: "cell", 2: "struct", 3: "object", 4: "char", 5: "sparse", 6: "double",
    7: "single", 8: "int8", 9: "uint8", 10: "int16", 11: "uint16", 12: "int32",
    13: "uint32", 14: "int64", 15: "uint64", 16: "function handle", 17: "opaque",
}
_FLAG_COMPLEX, _FLAG_LOGICAL = 0x0800, 0x0200
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
# v4 precision digit P of the MOPT code -> (class name, bytes per element).
_V4_PRECISION = {0: ("double", 8), 1: ("single", 4), 2: ("int32", 4), 3: ("int16", 2),
                 4: ("uint16", 2), 5: ("uint8", 1)}


class MatFormatError(ValueError):
    """The bytes are not a readable MAT file; the message says what is wrong."""


@dataclass(frozen=True)
class VariableHeader:
    """What a MAT file declares about one top-level variable, before its data is read."""

    name: str
    mclass: str  # "double", "single", "char", "cell", "sparse", ...
    dims: tuple[int, ...]
    is_complex: bool = False
    is_logical: bool = False

    @property
    def numel(self) -> int:
        count = 1
        for d in self.dims:
            count *= d
        return count


def scan_variables(data: bytes, *, max_inflated_bytes: int) -> tuple[int, list[VariableHeader]]:
    """Return the MAT format version (4 or 5) and the header of each top-level variable.

    Raises MatFormatError for a v7.3 (HDF5) file, a file that is not a MAT file, a truncated
    file, or an element that declares more data than the file holds or would inflate past
    ``max_inflated_bytes``.
    """
    if len(data) >= 520 and data[512:520] == _HDF5_SIGNATURE or data[:19] == b"MATLAB 7.3 MAT-file":
        raise MatFormatError(
            "it is a MATLAB v7.3 (HDF5) file, which this loader does not read; "
            "re-save it in MATLAB with save(filename, 'A_1', 'B_1', 'A_2', 'B_2', '-v7')"
        )
    if len(data) >= 128 and data[:6] == b"MATLAB" and data[126:128] in (b"IM", b"MI"):
        return 5, _scan_v5(data, max_inflated_bytes)
    if len(data) >= 20 and _looks_like_v4(data):
        return 4, _scan_v4(data)
    if len(data) == 0:
        raise MatFormatError("the file is empty")
    raise MatFormatError(
        f"it is not a MAT file: expected a 'MATLAB 5.0 MAT-file' header or a v4 matrix header, "
        f"found {data[:16]!r}"
    )


def _scan_v5(data: bytes, max_inflated_bytes: int) -> list[VariableHeader]:
    endian = "<" if data[126:128] == b"IM" else ">"
    (version,) = struct.unpack(endian + "H", data[124:126])
    if version != 0x0100:
        raise MatFormatError(f"unknown MAT v5 version field 0x{version:04x}; expected 0x0100")
    headers = []
    pos = 128
    while pos < len(data):
        if len(data) - pos < 8:
            raise MatFormatError(f"the file is truncated: {len(data) - pos} stray bytes at offset {pos}")
        mtype, nbytes = struct.unpack(endian + "II", data[pos:pos + 8])
        body_start = pos + 8
        if nbytes > len(data) - body_start:
            raise MatFormatError(
                f"the file is truncated: the element at offset {pos} declares {nbytes} bytes "
                f"but only {len(data) - body_start} remain"
            )
        body = data[body_start:body_start + nbytes]
        if mtype == _MI_COMPRESSED:
            body = _inflate(body, max_inflated_bytes, pos)
            pos = body_start + nbytes  # compressed elements are not padded
            if len(body) < 8:
                raise MatFormatError(f"the compressed element at offset {pos} is empty or damaged")
            mtype, inner = struct.unpack(endian + "II", body[:8])
            if inner > len(body) - 8:
                raise MatFormatError(
                    f"the compressed element at offset {pos} is truncated: it declares {inner} "
                    f"bytes but inflates to {len(body) - 8}"
                )
            body = body[8:8 + inner]
        else:
            pos = body_start + nbytes + (-nbytes % 8)
        if mtype != _MI_MATRIX:
            raise MatFormatError(f"unexpected top-level element of type {mtype}; expected a matrix (14)")
        headers.append(_parse_matrix_header(body, endian))
    return headers


def _inflate(body: bytes, limit: int, pos: int) -> bytes:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(body, limit)
    except zlib.error as exc:
        raise MatFormatError(f"the compressed element at offset {pos} is damaged ({exc})") from None
    if inflater.unconsumed_tail:
        raise MatFormatError(
            f"the compressed element at offset {pos} inflates past {limit} bytes "
            "(weights of this layout need under 1 MB)"
        )
    return out


def _parse_matrix_header(body: bytes, endian: str) -> VariableHeader:
    """Array flags, dimensions and name from the start of a miMATRIX element's body."""
    if len(body) == 0:
        return VariableHeader(name="", mclass="empty", dims=(0, 0))
    fields = []
    pos = 0
    for _ in range(3):
        if len(body) - pos < 8:
            raise MatFormatError("a matrix element is truncated inside its header")
        word, second = struct.unpack(endian + "II", body[pos:pos + 8])
        if word >> 16:  # small data element: type and size share the first word
            mtype, nbytes, payload = word & 0xFFFF, word >> 16, body[pos + 4:pos + 4 + (word >> 16)]
            if nbytes > 4:
                raise MatFormatError("a matrix header has a malformed small data element")
            pos += 8
        else:
            mtype, nbytes = word, second
            if nbytes > len(body) - pos - 8:
                raise MatFormatError("a matrix element is truncated inside its header")
            payload = body[pos + 8:pos + 8 + nbytes]
            pos += 8 + nbytes + (-nbytes % 8)
        fields.append((mtype, payload))
    (flags_type, flags), (dims_type, dims_raw), (name_type, name_raw) = fields
    if flags_type != _MI_UINT32 or len(flags) < 4:
        raise MatFormatError("a matrix header has malformed array flags")
    if dims_type != _MI_INT32 or len(dims_raw) % 4 or not 8 <= len(dims_raw) <= 4 * 32:
        raise MatFormatError("a matrix header has malformed dimensions")
    if name_type != _MI_INT8:
        raise MatFormatError("a matrix header has a malformed variable name")
    (flag_word,) = struct.unpack(endian + "I", flags[:4])
    dims = struct.unpack(endian + f"{len(dims_raw) // 4}i", dims_raw)
    if any(d < 0 for d in dims):
        raise MatFormatError(f"a matrix header declares negative dimensions {dims}")
    mclass = _CLASS_NAMES.get(flag_word & 0xFF, f"unknown class {flag_word & 0xFF}")
    if mclass in ("double", "single") or "int" in mclass or mclass == "char":
        _check_data_elements(body, pos, endian)
    return VariableHeader(
        name=name_raw.decode("latin-1"),
        mclass=mclass,
        dims=tuple(dims),
        is_complex=bool(flag_word & _FLAG_COMPLEX),
        is_logical=bool(flag_word & _FLAG_LOGICAL),
    )


def _check_data_elements(body: bytes, pos: int, endian: str) -> None:
    """Every data subelement after the header must fit in the matrix element: scipy allocates
    what a subelement declares before it finds the bytes missing."""
    while pos < len(body):
        if len(body) - pos < 8:
            raise MatFormatError("a matrix element is truncated inside its data")
        word, nbytes = struct.unpack(endian + "II", body[pos:pos + 8])
        if word >> 16:  # small data element: at most 4 bytes, inside these 8
            pos += 8
            continue
        if nbytes > len(body) - pos - 8:
            raise MatFormatError(f"a matrix element is damaged: its data declares {nbytes} bytes "
                                 f"but only {len(body) - pos - 8} remain")
        pos += 8 + nbytes + (-nbytes % 8)


def _v4_header(data: bytes, pos: int) -> tuple[str, tuple[int, int, int, int, int]]:
    for endian in ("<", ">"):
        fields = struct.unpack(endian + "5i", data[pos:pos + 20])
        mopt = fields[0]
        if 0 <= mopt < 5000 and mopt // 1000 in (0, 1):
            return endian, fields
    raise MatFormatError(f"malformed MAT v4 matrix header at offset {pos}")


def _looks_like_v4(data: bytes) -> bool:
    try:
        _, (mopt, mrows, ncols, imagf, namlen) = _v4_header(data, 0)
    except MatFormatError:
        return False
    return mopt % 10 in (0, 1, 2) and mrows >= 0 and ncols >= 0 and imagf in (0, 1) and 0 < namlen < 64


def _scan_v4(data: bytes) -> list[VariableHeader]:
    headers = []
    pos = 0
    while pos < len(data):
        if len(data) - pos < 20:
            raise MatFormatError(f"the file is truncated: {len(data) - pos} stray bytes at offset {pos}")
        _, (mopt, mrows, ncols, imagf, namlen) = _v4_header(data, pos)
        precision, kind = (mopt // 10) % 10, mopt % 10
        if precision not in _V4_PRECISION or kind not in (0, 1, 2) or mrows < 0 or ncols < 0:
            raise MatFormatError(f"malformed MAT v4 matrix header at offset {pos}")
        if not 0 < namlen <= 64 or imagf not in (0, 1):
            raise MatFormatError(f"malformed MAT v4 matrix header at offset {pos}")
        mclass, itemsize = _V4_PRECISION[precision]
        nbytes = mrows * ncols * itemsize * (2 if imagf else 1)
        name_end = pos + 20 + namlen
        if name_end + nbytes > len(data):
            raise MatFormatError(
                f"the file is truncated: the matrix at offset {pos} declares {nbytes} bytes "
                f"but only {max(len(data) - name_end, 0)} remain"
            )
        name = data[pos + 20:name_end].rstrip(b"\x00").decode("latin-1")
        mclass = {1: "char", 2: "sparse"}.get(kind, mclass)
        headers.append(VariableHeader(name, mclass, (mrows, ncols), is_complex=bool(imagf)))
        pos = name_end + nbytes
    return headers
