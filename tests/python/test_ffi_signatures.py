"""The ctypes table in acscalling._ffi must match include/acscalling.h exactly.

The header is parsed (function prototypes, struct fields in order, callback typedefs and
#define constants), every C type is mapped to the ctypes type the table must use, and any
difference fails. This runs without the library; when it is built, its exports are checked too.
"""

import ctypes
import re

import pytest

from conftest import HEADER
from acscalling import _ffi

BASE_TYPES = {
    "bool": ctypes.c_bool,
    "char": ctypes.c_char,
    "float": ctypes.c_float,
    "double": ctypes.c_double,
    "int8_t": ctypes.c_int8,
    "uint8_t": ctypes.c_uint8,
    "int16_t": ctypes.c_int16,
    "uint16_t": ctypes.c_uint16,
    "int32_t": ctypes.c_int32,
    "uint32_t": ctypes.c_uint32,
    "int64_t": ctypes.c_int64,
    "uint64_t": ctypes.c_uint64,
    "size_t": ctypes.c_size_t,
    "acs_status": ctypes.c_int32,
}


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


class Header:
    def __init__(self, text):
        self.raw = text
        self.text = strip_comments(text)
        self.defines = {}
        for name, value in re.findall(r"^\s*#define\s+(\w+)\s+(.+?)\s*$", self.text, re.M):
            value = value.strip()
            if value.startswith('"'):
                self.defines[name] = value.strip('"')
            elif re.fullmatch(r"\(?-?\d+\)?", value):
                self.defines[name] = int(value.strip("()"))
        # Header guard and friends have no value and are skipped by the regex above.
        self.opaque = re.findall(r"typedef\s+struct\s+(\w+)\s+\1\s*;", self.text)
        self.structs = {}
        for body, name in re.findall(r"typedef\s+struct\s*\{(.*?)\}\s*(\w+)\s*;", self.text, re.S):
            fields = []
            for decl in body.split(";"):
                decl = " ".join(decl.split())
                if decl:
                    # `T name` or an array `T name[N]` (kept as "T[N]").
                    m = re.fullmatch(r"(.+?)\s*(\b\w+)\s*(\[\d+\])?", decl)
                    fields.append((m.group(2), m.group(1) + (m.group(3) or "")))
            self.structs[name] = fields
        self.callbacks = {}
        for ret, name, args in re.findall(r"typedef\s+([\w\s\*]+?)\s*\(\s*\*\s*(\w+)\s*\)\s*\((.*?)\)\s*;", self.text, re.S):
            self.callbacks[name] = (ret.strip(), split_params(args))
        self.aliases = dict(
            (name, ty.strip())
            for ty, name in re.findall(r"typedef\s+([\w\s]+?)\s+(\w+)\s*;", self.text)
            if not ty.strip().startswith("struct")
        )
        self.functions = {}
        decls = re.sub(r"#\w+[^\n]*", "", self.text[self.text.find("#ifdef __cplusplus"):])
        for ret, name, args in re.findall(r"^\s*([\w][\w\s\*]*?)\s*\b(acs_\w+)\s*\(([^;]*?)\)\s*;", decls, re.M | re.S):
            self.functions[name] = (" ".join(ret.split()), split_params(args))


def split_params(args):
    args = " ".join(args.split())
    if args in ("", "void"):
        return []
    out = []
    for p in args.split(","):
        p = p.strip()
        m = re.fullmatch(r"(.+?[\s\*])(\w+)", p)
        out.append(" ".join(m.group(1).split()) if m else p)
    return out


def ctype_of(c_type):
    """The ctypes type the table must use for the C type string `c_type` (a struct field
    may be an array, "T[N]": an array of N T)."""
    m = re.fullmatch(r"(.+)\[(\d+)\]", c_type)
    if m:
        return ctype_of(m.group(1)) * int(m.group(2))
    t = " ".join(c_type.replace("*", " * ").split())
    stars = t.count("*")
    words = [w for w in t.replace("*", " ").split() if w not in ("const", "struct")]
    assert len(words) == 1, f"cannot map C type {c_type!r}"
    base = words[0]
    const_pointee = t.startswith("const ")
    if base == "void":
        if stars == 0:
            return None
        if stars == 1:
            return ctypes.c_void_p
        return _nest(ctypes.c_void_p, stars - 1)
    if base == "char" and stars >= 1:
        # const char * is an input string; char * is an output buffer.
        inner = ctypes.c_char_p if const_pointee else ctypes.POINTER(ctypes.c_char)
        return _nest(inner, stars - 1)
    if base in BASE_TYPES:
        bt = BASE_TYPES[base]
    elif base in _ffi.OPAQUE_TYPES:
        bt = _ffi.OPAQUE_TYPES[base]
    elif base in _ffi.STRUCTS:
        bt = _ffi.STRUCTS[base]
    elif base in _ffi.CALLBACKS:
        bt = _ffi.CALLBACKS[base]
    else:
        raise AssertionError(f"unknown C type {base!r} in {c_type!r}: add it to _ffi")
    return _nest(bt, stars)


def _nest(t, stars):
    for _ in range(stars):
        t = ctypes.POINTER(t)
    return t


def describe(t):
    return getattr(t, "__name__", repr(t))


@pytest.fixture(scope="module")
def header():
    return Header(HEADER.read_text(encoding="utf-8"))


def test_header_was_parsed(header):
    # Guards the parser itself: a regex that silently matches nothing would pass everything.
    assert len(header.functions) >= 70
    assert {"acs_event", "acs_call_options", "acs_call_agent_options", "acs_call_client_options", "acs_call_audio_stats"} <= set(header.structs)
    assert {"acs_event_callback", "acs_token_refresher", "acs_log_callback", "acs_audio_frame_callback"} <= set(header.callbacks)
    assert header.defines["ACS_ERR_PANIC"] == -99
    assert "acs_call_agent_start_call" in header.functions


def test_every_function_matches(header):
    problems = []
    for name, (ret, params) in header.functions.items():
        if name not in _ffi.FUNCTIONS:
            problems.append(f"{name}: missing from _ffi.FUNCTIONS")
            continue
        restype, argtypes = _ffi.FUNCTIONS[name]
        want_ret = ctype_of(ret)
        if restype is not want_ret:
            problems.append(f"{name}: restype {describe(restype)}, header says {ret} -> {describe(want_ret)}")
        want_args = [ctype_of(p) for p in params]
        if len(argtypes) != len(want_args):
            problems.append(f"{name}: {len(argtypes)} argtypes, header has {len(want_args)} parameters")
            continue
        for i, (have, want, c) in enumerate(zip(argtypes, want_args, params)):
            if have is not want:
                problems.append(f"{name} arg {i}: {describe(have)}, header says {c} -> {describe(want)}")
    for name in _ffi.FUNCTIONS:
        if name not in header.functions:
            problems.append(f"{name}: in _ffi but not in the header")
    assert not problems, "\n".join(problems)


def test_every_struct_matches(header):
    problems = []
    for name, fields in header.structs.items():
        cls = _ffi.STRUCTS.get(name)
        if cls is None:
            problems.append(f"struct {name}: missing from _ffi.STRUCTS")
            continue
        have = [(f[0], f[1]) for f in cls._fields_]
        want = [(fname, ctype_of(ftype)) for fname, ftype in fields]
        if [h[0] for h in have] != [w[0] for w in want]:
            problems.append(f"struct {name}: fields {[h[0] for h in have]}, header {[w[0] for w in want]}")
            continue
        for (fname, htype), (_, wtype), (_, ctext) in zip(have, want, fields):
            if htype is not wtype:
                problems.append(f"struct {name}.{fname}: {describe(htype)}, header says {ctext} -> {describe(wtype)}")
    for name in _ffi.STRUCTS:
        if name not in header.structs:
            problems.append(f"struct {name}: in _ffi but not in the header")
    assert not problems, "\n".join(problems)


def test_opaque_types_match(header):
    assert sorted(header.opaque) == sorted(_ffi.OPAQUE_TYPES)


def test_every_callback_matches(header):
    problems = []
    for name, (ret, params) in header.callbacks.items():
        cb = _ffi.CALLBACKS.get(name)
        if cb is None:
            problems.append(f"callback {name}: missing from _ffi.CALLBACKS")
            continue
        if cb._restype_ is not ctype_of(ret):
            problems.append(f"callback {name}: returns {describe(cb._restype_)}, header {ret}")
        want = [ctype_of(p) for p in params]
        if list(cb._argtypes_) != want or any(a is not b for a, b in zip(cb._argtypes_, want)):
            problems.append(f"callback {name}: args {[describe(a) for a in cb._argtypes_]}, header {params}")
        if cb._flags_ != ctypes.CFUNCTYPE(None)._flags_:
            problems.append(f"callback {name}: not a CFUNCTYPE (cdecl)")
    for name in _ffi.CALLBACKS:
        if name not in header.callbacks:
            problems.append(f"callback {name}: in _ffi but not in the header")
    assert not problems, "\n".join(problems)


def test_typedef_aliases(header):
    # acs_status is the only scalar typedef; the table maps it to int32.
    assert header.aliases.get("acs_status") == "int32_t"
    assert _ffi.acs_status is ctypes.c_int32


def test_every_constant_matches(header):
    problems = []
    for name, value in header.defines.items():
        if name not in _ffi.CONSTANTS:
            problems.append(f"{name}: missing from _ffi.CONSTANTS")
        elif _ffi.CONSTANTS[name] != value:
            problems.append(f"{name}: _ffi has {_ffi.CONSTANTS[name]!r}, header {value!r}")
        elif getattr(_ffi, name) != value:
            problems.append(f"{name}: module attribute differs")
    for name in _ffi.CONSTANTS:
        if name not in header.defines:
            problems.append(f"{name}: in _ffi but not in the header")
    assert not problems, "\n".join(problems)


def test_library_exports_every_function(lib):
    missing = [n for n in _ffi.FUNCTIONS if not hasattr(lib, n)]
    assert not missing, f"the library does not export {missing}"
    for name, (restype, argtypes) in _ffi.FUNCTIONS.items():
        fn = getattr(lib, name)
        assert fn.restype is restype and list(fn.argtypes) == list(argtypes), name


def test_struct_sizes_are_what_init_writes(lib):
    """The init functions write struct_size = sizeof(struct) as the library sees it."""
    for name, init in [
        ("acs_call_client_options", lib.acs_call_client_options_init),
        ("acs_call_agent_options", lib.acs_call_agent_options_init),
        ("acs_call_options", lib.acs_call_options_init),
        ("acs_video_view_options", lib.acs_video_view_options_init),
        ("acs_video_frame_buffer", lib.acs_video_frame_buffer_init),
        ("acs_camera_options", lib.acs_camera_options_init),
        ("acs_audio_processing_options", lib.acs_audio_processing_options_init),
        # Output structs and the sized successors of the frozen first versions.
        ("acs_camera_capture_format", lib.acs_camera_capture_format_init),
        ("acs_video_receive_stats", lib.acs_video_receive_stats_init),
        ("acs_video_send_stats", lib.acs_video_send_stats_init),
        ("acs_call_audio_statistics", lib.acs_call_audio_statistics_init),
        ("acs_video_view_statistics", lib.acs_video_view_statistics_init),
        ("acs_rendered_video_frame", lib.acs_rendered_video_frame_init),
    ]:
        s = _ffi.STRUCTS[name]()
        assert init(ctypes.byref(s)) == 0
        assert s.struct_size == ctypes.sizeof(_ffi.STRUCTS[name]), name


def test_every_init_has_a_sized_init_and_a_macro(header):
    """Each <struct>_init has <struct>_init_sized(struct *, size_t) and the header's
    ACS_<STRUCT>_INIT(p) macro passing sizeof *p to it."""
    inits = [n for n in header.functions if n.endswith("_init")]
    assert len(inits) >= 13
    for name in inits:
        struct = name[: -len("_init")]
        assert header.functions.get(name + "_sized") == ("acs_status", [struct + " *", "size_t"]), name
        macro = f"#define {struct.upper()}_INIT(p) {name}_sized((p), sizeof(*(p)))"
        assert macro in header.raw, macro


def test_sized_init_writes_no_more_than_the_size_given(lib):
    """A struct of an older, shorter layout (here: cut after its first version's fields)
    followed by guard bytes: the sized init fills the prefix and leaves the guard alone."""
    S = _ffi.STRUCTS["acs_video_view_options"]
    full = ctypes.sizeof(S)
    short = S.frame_callback_user_data.offset + ctypes.sizeof(ctypes.c_void_p)
    assert short < full
    buf = (ctypes.c_uint8 * (full + 16))(*([0xA5] * (full + 16)))
    assert lib.acs_video_view_options_init_sized(ctypes.cast(buf, ctypes.POINTER(S)), short) == 0
    o = S.from_buffer(buf)
    assert (o.struct_size, o.width, o.height) == (short, 640, 360)
    assert all(b == 0xA5 for b in buf[short:])
    # Today's size: struct_size is sizeof; a size below the first version is refused.
    o = S()
    assert lib.acs_video_view_options_init_sized(ctypes.byref(o), full) == 0
    assert o.struct_size == full
    assert lib.acs_video_view_options_init_sized(ctypes.byref(o), 8) == _ffi.ACS_ERR_INVALID_ARGUMENT


def test_frozen_first_versions_keep_their_layout():
    """acs_call_audio_stats, acs_video_view_stats and acs_video_frame never change (they have
    no struct_size); their sized successors are the same fields after a struct_size."""
    S = _ffi.STRUCTS
    assert ctypes.sizeof(S["acs_call_audio_stats"]) == 32
    assert ctypes.sizeof(S["acs_video_view_stats"]) == 16
    assert [f[0] for f in S["acs_video_frame"]._fields_][0] == "width"
    for old, new in [("acs_call_audio_stats", "acs_call_audio_statistics"),
                     ("acs_video_view_stats", "acs_video_view_statistics"),
                     ("acs_video_frame", "acs_rendered_video_frame")]:
        assert S[new]._fields_[0][0] == "struct_size"
        assert [f[0] for f in S[new]._fields_[1:]] == [f[0] for f in S[old]._fields_], new


def test_every_constant_is_typed_for_type_checkers():
    # _ffi sets the constants with globals().update(CONSTANTS) and names them again with bare
    # annotations for mypy: both lists must agree, with the value's type.
    annotated = {k: v for k, v in _ffi.__annotations__.items() if k.startswith("ACS_")}
    assert annotated == {k: type(v).__name__ for k, v in _ffi.CONSTANTS.items()}
