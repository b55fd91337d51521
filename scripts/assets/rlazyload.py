#!/usr/bin/env python3
"""Extract character vectors from an R lazy-load database as plain UTF-8 text.

An R package stores its data sets in a lazy-load database, a pair of files:

- ``NAME.rdx``: the index, a gzip- or zlib-compressed R serialization of a list whose
  ``variables`` element maps each object name to ``c(offset, length)`` in the ``.rdb`` file.
- ``NAME.rdb``: the objects. Each one is a 4-byte big-endian uncompressed length, then
  the compressed R serialization of the object. zlib data follows the length directly.
  R's bzip2 and xz variants put a type byte ('2' or 'X'; 'Z' for zlib, '0' for stored) after
  the length, and this reader accepts those too.

The reader handles R serialization formats 2 and 3 in XDR (big-endian binary) form, and
only the value types that an index and a character vector need: NULL, lists, pairlists,
symbols, references, integer, logical, double and character vectors. Any other type raises
an error that names it.

Usage: rlazyload.py DATA_DIR/Rdata OBJECT_NAME OUTPUT_FILE

writes the elements of the character vector OBJECT_NAME joined with "\\n", plus a final
"\\n", in UTF-8. An NA element is written as "NA", as R's writeLines() does.
"""

import bz2
import gzip
import lzma
import os
import struct
import sys
import zlib

# Type codes of R's serialization format.
NILSXP = 0
SYMSXP = 1
LISTSXP = 2
CHARSXP = 9
LGLSXP = 10
INTSXP = 13
REALSXP = 14
STRSXP = 16
VECSXP = 19
REFSXP = 255
NILVALUE_SXP = 254
ALTREP_SXP = 238

# Bits of the flags word.
HAS_ATTR_BIT = 1 << 9
HAS_TAG_BIT = 1 << 10

# Encoding bits of a CHARSXP, found in the "levels" part of the flags (flags >> 12).
BYTES_MASK = 1 << 1
LATIN1_MASK = 1 << 2
UTF8_MASK = 1 << 3
ASCII_MASK = 1 << 6

NA_INTEGER = -(2**31)


class RDataError(Exception):
    pass


class Symbol:
    def __init__(self, name):
        self.name = name


class NAString:
    """The NA_character_ value of a character vector."""


NA_STRING = NAString()


class RVector:
    """A vector or list with its attributes, e.g. the ``names`` of a list."""

    def __init__(self, type_code, values, attributes):
        self.type_code = type_code
        self.values = values
        self.attributes = attributes

    def names(self):
        names = self.attributes.get("names")
        return None if names is None else names.values


class Unserializer:
    """Reader of one value in R's XDR serialization format (versions 2 and 3)."""

    def __init__(self, data, source):
        self.data = data
        self.position = 0
        self.source = source
        self.references = []
        self.native_encoding = "utf-8"

    def fail(self, message):
        raise RDataError(f"{self.source}: {message} at byte {self.position} of the decompressed stream")

    def read_bytes(self, count):
        end = self.position + count
        if end > len(self.data):
            self.fail(f"truncated stream, {count} bytes expected")
        chunk = self.data[self.position : end]
        self.position = end
        return chunk

    def read_int(self):
        return struct.unpack(">i", self.read_bytes(4))[0]

    def read_length(self):
        length = self.read_int()
        if length == -1:
            upper = self.read_int()
            lower = self.read_int()
            length = (upper << 32) + (lower & 0xFFFFFFFF)
        elif length < -1:
            self.fail(f"invalid vector length {length}")
        return length

    def read_header(self):
        magic = self.read_bytes(2)
        if magic != b"X\n":
            self.fail(f"unsupported serialization format {magic!r} (only XDR, 'X\\n', is supported)")
        version = self.read_int()
        self.read_int()  # R version that wrote the stream
        self.read_int()  # minimum R version that can read it
        if version == 3:
            encoding_length = self.read_int()
            encoding = self.read_bytes(encoding_length).decode("ascii", "replace")
            self.native_encoding = "latin-1" if encoding.upper() in ("LATIN1", "ISO-8859-1") else "utf-8"
        elif version != 2:
            self.fail(f"unsupported serialization version {version} (2 and 3 are supported)")

    def read_value(self):
        flags = self.read_int()
        type_code = flags & 0xFF
        levels = flags >> 12
        has_attributes = bool(flags & HAS_ATTR_BIT)
        has_tag = bool(flags & HAS_TAG_BIT)

        if type_code == NILVALUE_SXP:
            return None
        if type_code == REFSXP:
            index = flags >> 8
            if index == 0:
                index = self.read_int()
            if not 1 <= index <= len(self.references):
                self.fail(f"reference {index} is out of range (table holds {len(self.references)})")
            return self.references[index - 1]
        if type_code == SYMSXP:
            name = self.read_value()
            symbol = Symbol(name if isinstance(name, str) else "NA")
            self.references.append(symbol)
            return symbol
        if type_code == LISTSXP:
            return self.read_pairlist(has_attributes, has_tag)
        if type_code == CHARSXP:
            return self.read_charsxp(levels)
        if type_code in (LGLSXP, INTSXP):
            length = self.read_length()
            values = list(struct.unpack(f">{length}i", self.read_bytes(4 * length)))
            values = [None if v == NA_INTEGER else v for v in values]
            return RVector(type_code, values, self.read_attributes(has_attributes))
        if type_code == REALSXP:
            length = self.read_length()
            values = list(struct.unpack(f">{length}d", self.read_bytes(8 * length)))
            return RVector(type_code, values, self.read_attributes(has_attributes))
        if type_code in (STRSXP, VECSXP):
            length = self.read_length()
            values = [self.read_value() for _ in range(length)]
            return RVector(type_code, values, self.read_attributes(has_attributes))
        if type_code == ALTREP_SXP:
            self.fail("ALTREP values are not supported by this reader")
        self.fail(f"unsupported R value type {type_code}")

    def read_charsxp(self, levels):
        length = self.read_int()
        if length == -1:
            return NA_STRING
        if length < 0:
            self.fail(f"invalid string length {length}")
        raw = self.read_bytes(length)
        if levels & LATIN1_MASK:
            return raw.decode("latin-1")
        if levels & (UTF8_MASK | ASCII_MASK):
            return raw.decode("utf-8")
        if levels & BYTES_MASK:
            self.fail("string marked as raw bytes cannot be converted to text")
        return raw.decode(self.native_encoding)

    def read_attributes(self, has_attributes):
        if not has_attributes:
            return {}
        pairlist = self.read_value()
        return dict(pairlist or [])

    def read_pairlist(self, has_attributes, has_tag):
        """Read a pairlist as [(tag name, value), ...]; the loop follows the CDR chain."""
        items = []
        while True:
            if has_attributes:
                self.read_value()  # attributes of a pairlist cell: not needed here
            tag = self.read_value() if has_tag else None
            value = self.read_value()
            items.append((tag.name if isinstance(tag, Symbol) else None, value))
            flags = self.read_int()
            type_code = flags & 0xFF
            if type_code == NILVALUE_SXP:
                return items
            if type_code != LISTSXP:
                self.fail(f"pairlist cell followed by value type {type_code}, expected another cell or NULL")
            has_attributes = bool(flags & HAS_ATTR_BIT)
            has_tag = bool(flags & HAS_TAG_BIT)


def unserialize(data, source):
    reader = Unserializer(data, source)
    reader.read_header()
    return reader.read_value()


def decompress_index(data, source):
    if data[:2] == b"\x1f\x8b":
        return gzip.decompress(data)
    return decompress_object(data, source)


def decompress_object(data, source):
    if len(data) < 5:
        raise RDataError(f"{source}: compressed object of {len(data)} bytes is too short")
    expected_length = struct.unpack(">I", data[:4])[0]
    kind = data[4:5]
    if kind == b"Z":
        result = zlib.decompress(data[5:])
    elif kind == b"2":
        result = bz2.decompress(data[5:])
    elif kind == b"X":
        result = lzma.decompress(data[5:])
    elif kind == b"0":
        result = data[5:]
    else:
        result = zlib.decompress(data[4:])
    if len(result) != expected_length:
        raise RDataError(
            f"{source}: decompressed {len(result)} bytes but the header gives {expected_length}; "
            "the file is corrupt, download the package again"
        )
    return result


def read_index(base):
    path = base + ".rdx"
    with open(path, "rb") as handle:
        index = unserialize(decompress_index(handle.read(), path), path)
    if not isinstance(index, RVector) or index.type_code != VECSXP:
        raise RDataError(f"{path}: index is not a list")
    fields = dict(zip(index.names() or [], index.values))
    variables = fields.get("variables")
    if not isinstance(variables, RVector):
        raise RDataError(f"{path}: index has no 'variables' element")
    result = {}
    for name, position in zip(variables.names() or [], variables.values):
        offset, length = (int(v) for v in position.values[:2])
        result[name] = (offset, length)
    return result


def read_object(base, name):
    index = read_index(base)
    if name not in index:
        raise RDataError(f"{base}.rdx: no object named '{name}'; available: {', '.join(sorted(index))}")
    offset, length = index[name]
    path = base + ".rdb"
    with open(path, "rb") as handle:
        handle.seek(offset)
        data = handle.read(length)
    if len(data) != length:
        raise RDataError(f"{path}: object '{name}' at offset {offset} needs {length} bytes, file ends early")
    return unserialize(decompress_object(data, f"{path} object '{name}'"), f"{path} object '{name}'")


def character_vector_text(vector, name):
    if not isinstance(vector, RVector) or vector.type_code != STRSXP:
        raise RDataError(f"object '{name}' is not a character vector")
    lines = ["NA" if element is NA_STRING else element for element in vector.values]
    return "".join(line + "\n" for line in lines)


def main(arguments):
    if len(arguments) != 3:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print("usage: rlazyload.py DATABASE_BASE_PATH OBJECT_NAME OUTPUT_FILE", file=sys.stderr)
        return 2
    base, name, output = arguments
    try:
        text = character_vector_text(read_object(base, name), name)
    except (OSError, RDataError, zlib.error, lzma.LZMAError, UnicodeDecodeError) as error:
        print(f"error: failed to extract '{name}' from {base}.rdb: {error}", file=sys.stderr)
        return 1
    temporary = f"{output}.tmp.{os.getpid()}"
    with open(temporary, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    os.replace(temporary, output)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
