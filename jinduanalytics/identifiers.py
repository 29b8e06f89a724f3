"""How identifiers are normalised before they are compared, linked or used as graph keys.

Different systems write the same identifier differently: a full-width ``１２３``, a zero-width
space pasted from a chat, ``+86 138-0000-0000`` for ``13800000000``, a first-generation
15-digit ID number for its 18-digit form, ``張 偉`` for ``张伟``. The rules, applied in this order:

1. **every string cell** of a canonical table (validation, :func:`normalise_text`): Unicode NFKC
   (full-width letters and digits become ASCII, the ideographic space a space), zero-width
   characters removed (U+200B-U+200D, U+2060, U+FEFF), surrounding whitespace stripped; a cell
   left empty is missing (null), so it cannot become a false hub;
2. **phones** (``person_records.phone``, ``contacts.phone_a/b``, ``case_entities`` of kind
   phone; :func:`canonical_phone`): spaces, dashes, dots and brackets removed, and the country
   code ``+86``/``0086`` dropped (``86`` too when the rest is an 11-digit mobile number);
3. **ID numbers** (``person_records.id_number``; :func:`canonical_id_number`): upper case, inner
   spaces removed, and a 15-digit first-generation number (YYMMDD, no check digit) turned into
   its 18-digit form (century 19 inserted, GB 11643 check digit appended); masked numbers
   (``*``) are left as they are;
4. **names, for comparison only** (record linkage; :func:`comparable_name`): inner whitespace and
   the separators of transliterated names (``·``, ``•``, ``.``) removed, traditional characters
   mapped to simplified ones (OpenCC ``t2s``). The tables keep the name as written.

Comparisons read at most :data:`MAX_COMPARE_CHARS` characters of a value, so an absurdly long
cell cannot make linkage slow (validation rejects cells longer than the column's limit anyway).
"""

from __future__ import annotations

import functools

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["normalise_text", "canonical_phone", "canonical_id_number", "comparable_name", "MAX_COMPARE_CHARS"]

#: Comparisons (names, ID numbers, string similarity) read at most this many characters.
MAX_COMPARE_CHARS = 64

_ZERO_WIDTH = "[\u200b\u200c\u200d\u2060\ufeff]"
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def _array(values) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks()
    if isinstance(values, pa.Array):
        return values
    return pa.array(values, pa.string())


def _empty_to_null(arr: pa.Array) -> pa.Array:
    """An empty string is a missing value, never a key (no false hub)."""
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)


def normalise_text(values) -> pa.Array:
    """NFKC, zero-width characters removed, surrounding whitespace stripped; empty -> null.

    Parameters
    ----------
    values : sequence of str, pyarrow.Array or ChunkedArray

    Examples
    --------
    >>> normalise_text(["１３８\u200b", "  ", "张伟 "]).to_pylist()
    ['138', None, '张伟']
    """
    arr = _array(values).cast(pa.string())
    if len(arr) and not pc.all(pc.fill_null(pc.string_is_ascii(arr), True)).as_py():
        arr = pc.replace_substring_regex(pc.utf8_normalize(arr, form="NFKC"), _ZERO_WIDTH, "")
    return _empty_to_null(pc.utf8_trim_whitespace(arr))


def canonical_phone(values) -> pa.Array:
    """Phones as digits: separators removed, the +86/0086 country code dropped.

    Parameters
    ----------
    values : sequence of str, pyarrow.Array or ChunkedArray

    Examples
    --------
    >>> canonical_phone(["+86 138-0000-0000", "0086 13800000000", "8613800000000", "(0759) 222 3333"]).to_pylist()
    ['13800000000', '13800000000', '13800000000', '07592223333']
    """
    arr = normalise_text(values)
    arr = pc.replace_substring_regex(arr, r"[\s\-\.\(\)/]", "")
    arr = pc.replace_substring_regex(arr, r"^(\+86|0086)", "")
    return _empty_to_null(pc.replace_substring_regex(arr, r"^86(1\d{10})$", r"\1"))


def canonical_id_number(values) -> pa.Array:
    """ID numbers upper-cased without inner spaces; 15-digit numbers in their 18-digit form.

    Parameters
    ----------
    values : sequence of str, pyarrow.Array or ChunkedArray

    Examples
    --------
    >>> canonical_id_number(["110105491231002", "11010519491231002x", "1101 0519 4912 3100 2X"]).to_pylist()
    ['11010519491231002X', '11010519491231002X', '11010519491231002X']
    """
    arr = pc.utf8_upper(pc.replace_substring_regex(normalise_text(values), r"\s", ""))
    short = pc.fill_null(pc.match_substring_regex(arr, r"^\d{15}$"), False)
    if not pc.any(short).as_py():
        return arr
    py = arr.to_pylist()
    mask = short.to_numpy(zero_copy_only=False)
    for i in mask.nonzero()[0]:
        py[i] = id15_to_id18(py[i])
    return pa.array(py, pa.string())


def id15_to_id18(number: str) -> str:
    """A first-generation 15-digit ID number (address, YYMMDD, sequence) in 18-digit form:
    the century 19 inserted before the year and the GB 11643 (ISO 7064 MOD 11-2) check digit
    appended.

    Examples
    --------
    >>> id15_to_id18("110105491231002")
    '11010519491231002X'
    """
    body = number[:6] + "19" + number[6:]
    return body + _ID_CHECK[sum(int(c) * w for c, w in zip(body, _ID_WEIGHTS)) % 11]


def comparable_name(values) -> pa.Array:
    """Names as record linkage compares them: inner whitespace and name separators removed,
    traditional characters mapped to simplified (OpenCC t2s, character by character).

    Parameters
    ----------
    values : sequence of str, pyarrow.Array or ChunkedArray

    Examples
    --------
    >>> comparable_name(["張 偉", "买买提·艾力", "陈伟"]).to_pylist()
    ['张伟', '买买提艾力', '陈伟']
    """
    arr = _empty_to_null(pc.replace_substring_regex(normalise_text(values), r"[\s·•\.．・]", ""))
    table = _t2s_table()
    enc = pc.dictionary_encode(arr)
    uniq = enc.dictionary.to_pylist()
    mapped = [u.translate(table) for u in uniq]  # one character for one: never empties a name
    if mapped == uniq:
        return arr
    return pa.DictionaryArray.from_arrays(enc.indices, pa.array(mapped, pa.string())).cast(pa.string())


@functools.lru_cache(maxsize=1)
def _t2s_table() -> dict[int, str]:
    """Traditional -> simplified, one character to one character, from OpenCC's t2s conversion
    of every CJK ideograph (built once per process, ~25 ms; ~4,200 characters change)."""
    import opencc

    conv = opencc.OpenCC("t2s")
    ranges = (range(0x3400, 0x4DC0), range(0x4E00, 0xA000), range(0xF900, 0xFB00))
    return {c: s for r in ranges for c in r if len(s := conv.convert(chr(c))) == 1 and s != chr(c)}
