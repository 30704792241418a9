"""The safe YAML loader refuses hostile files with a positioned error, fast, and does nothing else."""

from __future__ import annotations

import signal
import tracemalloc
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
import yaml

from app.engine import yamlsafe
from app.engine.problems import ContentError, Problem
from app.engine.yamlsafe import MAX_BYTES, MAX_DEPTH, Mark, load_bytes, load_file, load_text

PEAK_LIMIT = 50 * 1024 * 1024


# -- helpers and fixtures ----------------------------------------------------------------------


@pytest.fixture(params=["libyaml", "pure-python"])
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with the C parser (when PyYAML has it) and with the pure-Python one."""
    if request.param == "libyaml":
        if not hasattr(yaml, "CSafeLoader"):
            pytest.skip("PyYAML is built without libyaml")
        monkeypatch.setattr(yamlsafe, "_Loader", yaml.CSafeLoader)
    else:
        monkeypatch.setattr(yamlsafe, "_Loader", yaml.SafeLoader)
    return request.param


class ParserReached(AssertionError):
    """Raised by a stand-in for yaml.parse: the text got past the cheap checks."""


@pytest.fixture
def no_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any call to the YAML parser fail loudly."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise ParserReached("yaml.parse was called")
    monkeypatch.setattr(yamlsafe.yaml, "parse", refuse)


def refused(load, source) -> list[Problem]:  # type: ignore[no-untyped-def]
    """The problems of the ContentError that `load(source)` must raise."""
    with pytest.raises(ContentError) as caught:
        load(source)
    problems = caught.value.problems
    assert problems, "a ContentError must carry at least one problem"
    assert str(caught.value), "a ContentError must have a message"
    return problems


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, problems
    return problems[0]


def peak_bytes(action) -> int:  # type: ignore[no-untyped-def]
    """The peak memory Python allocated while running `action` (its exception swallowed)."""
    tracemalloc.start()
    try:
        try:
            action()
        except ContentError:
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def alias_bomb(levels: int = 9) -> str:
    """The classic "billion laughs": each level lists the one before nine times."""
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    names = "abcdefghijklmnopqrstuvwxyz"
    for level in range(1, levels):
        previous, name = names[level - 1], names[level]
        lines.append(f"{name}: &{name} [" + ", ".join(f"*{previous}" for _ in range(9)) + "]")
    return "\n".join(lines) + "\n"


def block_nesting(levels: int) -> str:
    """A mapping nested `levels` deep by indentation (the top-level mapping is level 1)."""
    return "".join("  " * depth + f"k{depth + 1}:\n" for depth in range(levels - 1)) + "  " * (levels - 1) \
        + f"k{levels}: leaf\n"


# -- what loads, and where its marks point ---------------------------------------------------


def test_a_plain_file_loads_with_key_and_value_marks(loader: str) -> None:
    loaded = load_text("id: late\ntitle: Late delivery\npersona: {name: Ayşe, role: Customer}\n")
    assert loaded.data == {"id": "late", "title": "Late delivery", "persona": {"name": "Ayşe", "role": "Customer"}}
    assert loaded.problems == []
    assert loaded.key_marks[("title",)] == Mark(2, 1)
    assert loaded.value_marks[("title",)] == Mark(2, 8)
    assert loaded.key_marks[("persona", "role")] == Mark(3, 23)
    assert loaded.value_marks[("persona", "role")] == Mark(3, 29)


def test_bom_and_crlf_line_ends_load_and_mark_lines_right(loader: str) -> None:
    raw = "\ufeffid: late\r\ntitle: Late\r\nnodes:\r\n  opening:\r\n    say: Hello\r\n".encode("utf-8")
    loaded = load_bytes(raw)
    assert loaded.data == {"id": "late", "title": "Late", "nodes": {"opening": {"say": "Hello"}}}
    assert "\ufeff" not in next(iter(loaded.data))
    # The BOM takes no column; carriage returns take no line.
    assert loaded.key_marks[("id",)] == Mark(1, 1)
    assert loaded.value_marks[("id",)] == Mark(1, 5)
    assert loaded.key_marks[("nodes", "opening")] == Mark(4, 3)
    assert loaded.value_marks[("nodes", "opening", "say")] == Mark(5, 10)


def test_bom_and_crlf_errors_point_at_the_right_line(loader: str) -> None:
    raw = "\ufeffid: late\r\ntitle: Late\r\nlist: [1,\r\n  , 2]\r\n".encode("utf-8")
    problem = only(refused(load_bytes, raw))
    assert problem.line == 4
    assert "bad YAML" in problem.message


def test_bom_and_crlf_control_character_is_marked_right() -> None:
    raw = "\ufeffid: x\x01y\r\ntitle: T\x02\r\n".encode("utf-8")
    problems = refused(load_bytes, raw)
    assert [(p.line, p.col) for p in problems] == [(1, 6), (2, 9)]


def test_load_text_strips_a_bom_too(loader: str) -> None:
    loaded = load_text("\ufeffid: x\n")
    assert loaded.data == {"id": "x"}
    assert loaded.value_marks[("id",)] == Mark(1, 5)


@pytest.mark.parametrize("prefix", ["İşçiğüşö ÇĞIİ", "کتاب فارسی", "😀 emoji 🎉"])
def test_columns_count_characters_not_bytes(loader: str, prefix: str) -> None:
    loaded = load_text(f"title: {prefix}\npersona: {{name: {prefix}, role: x}}\n")
    col = len("persona: {name: ") + len(prefix) + len(", ") + 1
    assert loaded.key_marks[("persona", "role")] == Mark(2, col)
    assert loaded.value_marks[("persona", "role")] == Mark(2, col + len("role: "))


def test_turkish_line_parser_error_column_is_in_characters(loader: str) -> None:
    problem = only(refused(load_text, "title: İş\nöğe: [1, ,]\n"))
    # ö ğ e : space [ 1 , space -> the second comma is character 10 (byte 12)
    assert (problem.line, problem.col) == (2, 10)


def test_persian_key_duplicate_is_marked_in_characters(loader: str) -> None:
    loaded = load_text("persona: {نام: آیشه یلماز, نام: دیگر}\n")
    assert loaded.data == {"persona": {"نام": "آیشه یلماز"}}
    problem = only(loaded.problems)
    assert (problem.line, problem.col) == (1, len("persona: {نام: آیشه یلماز, ") + 1)


def test_control_character_column_counts_characters() -> None:
    problem = only(refused(load_text, "title: Ayşe Yılmaz\x1b\n"))
    assert (problem.line, problem.col) == (1, len("title: Ayşe Yılmaz") + 1)


# -- anchors, aliases and the alias bomb -----------------------------------------------------


def test_an_anchor_is_refused_at_the_anchor(loader: str) -> None:
    problem = only(refused(load_text, "id: x\nbase: &base {a: 1}\n"))
    assert (problem.line, problem.col) == (2, 7)
    assert "anchors" in problem.message and "&base" in problem.message


def test_an_alias_is_refused(loader: str) -> None:
    problem = only(refused(load_text, "id: x\ncopy: *missing\n"))
    assert (problem.line, problem.col) == (2, 7)
    assert "aliases" in problem.message


def test_a_scalar_anchor_is_refused(loader: str) -> None:
    problem = only(refused(load_text, "id: &i x\n"))
    assert problem.line == 1 and "anchors" in problem.message


def test_a_nine_level_alias_bomb_is_refused_at_the_first_anchor(loader: str) -> None:
    problem = only(refused(load_text, alias_bomb(9)))
    assert (problem.line, problem.col) == (1, 4)
    assert "&a" in problem.message


def test_the_alias_bomb_stays_small_in_memory() -> None:
    text = alias_bomb(9)
    assert peak_bytes(lambda: load_text(text)) < PEAK_LIMIT


# -- tags ------------------------------------------------------------------------------------


@pytest.mark.parametrize("tagged", [
    "!!python/object/apply:os.system [{command!r}]",
    "!!python/object/apply:subprocess.call [[sh, -c, {command!r}]]",
    "!<tag:yaml.org,2002:python/object/apply:os.system> [{command!r}]",
    "!!python/object/new:os.system [{command!r}]",
])
def test_a_python_tag_never_executes(loader: str, tmp_path: Path, tagged: str) -> None:
    marker = tmp_path / "pwned"
    text = "id: x\npayload: " + tagged.format(command=f"touch {marker}") + "\n"
    problem = only(refused(load_text, text))
    assert (problem.line, problem.col) == (2, 10)
    assert "tags like" in problem.message and "python/object" in problem.message
    assert not marker.exists()


def test_a_python_tag_through_a_tag_directive_is_refused(loader: str, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = f"%TAG !py! tag:yaml.org,2002:python/\n---\nid: x\nrun: !py!object/apply:os.system ['touch {marker}']\n"
    problem = only(refused(load_text, text))
    assert (problem.line, problem.col) == (4, 6)
    assert not marker.exists()


def test_a_python_tag_in_a_file_is_refused_by_load_file(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.yaml"
    path.write_text(f"id: x\nrun: !!python/object/apply:os.system ['touch {marker}']\n", encoding="utf-8")
    problem = only(refused(load_file, path))
    assert problem.line == 2
    assert not marker.exists()


@pytest.mark.parametrize("text, line, col", [
    ("id: !local x\n", 1, 5),
    ("a: 1\nb: !!binary aGVsbG8=\n", 2, 4),
    ("a: 1\nb: !!set {x, y}\n", 2, 4),
    ("a: 1\nwhen: !!timestamp 2024-01-01\n", 2, 7),
    ("a: 1\nn: !!int '5'\n", 2, 4),
])
def test_custom_and_non_text_tags_are_refused(loader: str, text: str, line: int, col: int) -> None:
    problem = only(refused(load_text, text))
    assert (problem.line, problem.col) == (line, col)
    assert "tags like" in problem.message


def test_the_str_tag_reads_text(loader: str) -> None:
    loaded = load_text("a: !!str yes\nb: !!str 2024-01-01\nc: !!str 12\n")
    assert loaded.data == {"a": "yes", "b": "2024-01-01", "c": "12"}


def test_the_non_specific_tag_reads_as_pyyaml_reads_it(loader: str) -> None:
    text = "a: ! 12\nb: ! yes\nc: ! x\n"
    assert load_text(text).data == yaml.safe_load(text)


# -- duplicate keys --------------------------------------------------------------------------


def test_a_duplicate_key_is_a_problem_at_its_second_occurrence(loader: str) -> None:
    loaded = load_text("id: x\ntitle: First\nsummary: s\ntitle: Second\n")
    assert loaded.data["title"] == "First"
    problem = only(loaded.problems)
    assert (problem.line, problem.col, problem.severity) == (4, 1, "error")
    assert "duplicate key 'title'" in problem.message and "line 2" in problem.message


def test_a_duplicate_key_in_a_nested_flow_mapping(loader: str) -> None:
    loaded = load_text("id: x\nnodes:\n  a: {say: hi, say: again, ending: success}\n")
    problem = only(loaded.problems)
    assert (problem.line, problem.col) == (3, 16)
    assert "duplicate key 'say'" in problem.message


def test_a_duplicate_key_is_an_error_in_the_validator(check_file) -> None:  # type: ignore[no-untyped-def]
    report = check_file("""\
        id: s
        title: T
        nodes:
          a: {ending: success}
          a: {ending: failure}
        """)
    assert [(p.line, p.col) for p in report.errors if "duplicate key" in p.message] == [(5, 3)]


@pytest.mark.parametrize("text, what", [
    ("yes: 1\n", "true/false"),
    ("1: a\n", "whole number"),
    ("2024-01-01: a\n", "date"),
    ("~: a\n", "nothing"),
])
def test_a_key_that_is_not_text_is_a_problem(loader: str, text: str, what: str) -> None:
    loaded = load_text("id: x\n" + text)
    problem = only(loaded.problems)
    assert (problem.line, problem.col) == (2, 1)
    assert "a key must be text" in problem.message and what in problem.message and "quotes" in problem.message


# -- encoding and characters -----------------------------------------------------------------


def test_non_utf8_bytes_are_refused_with_their_line_and_column() -> None:
    raw = b"id: x\ntitle: " + "Başlık".encode("cp1254") + b"\n"
    problem = only(refused(load_bytes, raw))
    # "title: Ba" then the cp1254 byte for ş
    assert (problem.line, problem.col) == (2, len("title: Ba") + 1)
    assert "UTF-8" in problem.message and "0xfe" in problem.message


def test_non_utf8_column_counts_earlier_characters_not_bytes() -> None:
    raw = "id: x\nöğe: ".encode() + b"\xff\n"
    problem = only(refused(load_bytes, raw))
    assert (problem.line, problem.col) == (2, len("öğe: ") + 1)


def test_a_utf16_file_is_refused_as_not_utf8() -> None:
    problem = only(refused(load_bytes, "id: x\n".encode("utf-16")))
    assert (problem.line, problem.col) == (1, 1)
    assert "UTF-8" in problem.message


def test_non_utf8_file_through_load_file(tmp_path: Path) -> None:
    path = tmp_path / "latin.yaml"
    path.write_bytes(b"id: x\ntitle: caf\xe9\n")
    problem = only(refused(load_file, path))
    assert (problem.line, problem.col) == (2, 11)


def test_non_utf8_column_after_a_bom_does_not_count_the_bom() -> None:
    problem = only(refused(load_bytes, b"\xef\xbb\xbfid: \xff\n"))
    assert (problem.line, problem.col) == (1, 5)


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x07", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f", "\x85",
                                  "\x9f"])
def test_control_characters_are_refused_with_their_place(char: str) -> None:
    problem = only(refused(load_text, f"id: x\ntitle: ab{char}c\n"))
    assert (problem.line, problem.col) == (2, 10)
    assert f"U+{ord(char):04X}" in problem.message


def test_every_control_character_is_reported_up_to_a_limit() -> None:
    problems = refused(load_text, "id: x\x01\ntitle: \x02\n" + "x: \x03\n" * 40)
    assert problems[:2] == [Problem(1, 6, "error", "control character U+0001 is not allowed"),
                            Problem(2, 8, "error", "control character U+0002 is not allowed")]
    assert len(problems) == 20


def test_a_control_character_in_a_comment_is_refused_too() -> None:
    problem = only(refused(load_text, "id: x  # note\x07\n"))
    assert (problem.line, problem.col) == (1, 14)


def test_tab_cr_and_lf_are_allowed(loader: str) -> None:
    # (A tab inside a plain scalar is read by libyaml but refused by the pure-Python scanner.)
    loaded = load_text("id: x\r\ntitle: 'Tab\tbed'\r\nsummary: \"a\tb\"\n")
    assert loaded.data == {"id": "x", "title": "Tab\tbed", "summary": "a\tb"}


@pytest.mark.parametrize("char", ["\ufffe", "\uffff"])
def test_a_noncharacter_is_refused_at_its_line(char: str) -> None:
    problem = only(refused(load_text, f"id: x\ntitle: ab{char}\n"))
    assert (problem.line, problem.col) == (2, 10)


def test_a_lone_surrogate_given_to_load_text_is_a_content_error() -> None:
    problem = only(refused(load_text, "id: x\ntitle: ab\ud800\n"))
    assert problem.line == 2


# -- top level and documents -----------------------------------------------------------------


@pytest.mark.parametrize("text, message", [
    ("- a\n- b\n", "not a list"),
    ("[a, b]\n", "not a list"),
    ("just text\n", "top level must be a mapping"),
    ("42\n", "top level must be a mapping"),
    ("~\n", "top level must be a mapping"),
    ("|\n  a block\n", "top level must be a mapping"),
    ("", "the file is empty"),
    ("# only a comment\n\n", "the file is empty"),
])
def test_the_top_level_must_be_a_mapping(loader: str, text: str, message: str) -> None:
    problem = only(refused(load_text, text))
    assert (problem.line, problem.col) == (1, 1)
    assert message in problem.message


def test_an_empty_explicit_document_is_not_a_mapping(loader: str) -> None:
    problem = only(refused(load_text, "---\n"))
    assert problem.line in (1, 2) and "top level must be a mapping" in problem.message


def test_a_top_level_list_after_comments_is_refused_at_its_line(loader: str) -> None:
    problem = only(refused(load_text, "# a list\n\n- a\n"))
    assert (problem.line, problem.col) == (3, 1)


def test_a_first_explicit_document_is_fine(loader: str) -> None:
    assert load_text("%YAML 1.1\n---\nid: x\n...\n").data == {"id": "x"}


@pytest.mark.parametrize("text, line", [
    ("id: x\n---\nid: y\n", 2),
    ("---\nid: x\n---\nid: y\n", 3),
    ("id: x\n...\n---\n- evil\n", 3),
    ("id: x\ntitle: t\n--- \n", 3),
])
def test_several_documents_are_refused_at_the_second(loader: str, text: str, line: int) -> None:
    problem = only(refused(load_text, text))
    assert (problem.line, problem.col) == (line, 1)
    assert "one YAML document" in problem.message


def test_bad_yaml_names_the_line_where_the_parser_stopped(loader: str) -> None:
    problem = only(refused(load_text, "id: x\ntitle: 'unclosed\nsummary: s\n"))
    assert problem.line >= 2 and problem.message.startswith("bad YAML")


def test_bad_indentation_names_its_line(loader: str) -> None:
    problem = only(refused(load_text, "id: x\nnodes:\n  a:\n    say: hi\n   ending: success\n"))
    assert problem.line == 5 and problem.message.startswith("bad YAML")


# -- values YAML reads as something other than text ("quote it") -----------------------------


def test_plain_sources_remember_how_a_non_text_value_was_written(loader: str) -> None:
    loaded = load_text("a: yes\nb: 2024-05-01\nc: 'yes'\nd: 0123\ne: text\nf: [No, on]\n")
    assert loaded.data["a"] is True and loaded.data["c"] == "yes" and loaded.data["d"] == 83
    assert loaded.source(("a",)) == "yes"
    assert loaded.source(("b",)) == "2024-05-01"
    assert loaded.source(("c",)) is None
    assert loaded.source(("d",)) == "0123"
    assert loaded.source(("e",)) is None
    assert loaded.source(("f", 0)) == "No" and loaded.source(("f", 1)) == "on"


VALID_TAIL = """\
nodes:
  a:
    choices:
      - {text: Go, goto: e}
  e: {ending: success}
"""


@pytest.mark.parametrize("line2, col, fragments", [
    ("title: yes", 8, ["'title' must be text", 'put it in quotes: "yes"']),
    ("title: No", 8, ["true/false", '"No"']),
    ("title: off", 8, ["true/false", '"off"']),
    ("title: 2024-05-01", 8, ["as a date", '"2024-05-01"']),
    ("title: 12", 8, ["as a whole number", '"12"']),
    ("title: 1.5", 8, ["as a decimal number", '"1.5"']),
    ("difficulty: true", 13, ["'difficulty' must be a whole number", "true/false"]),
    ("difficulty: '2'", 13, ["'difficulty' must be a whole number", "write it without quotes"]),
    ("difficulty: 2.0", 13, ["'difficulty' must be a whole number", "decimal number"]),
    ("minutes: 2024-01-01", 10, ["'minutes' must be a whole number", "date"]),
])
def test_a_value_read_as_the_wrong_kind_asks_to_quote_it(check_file, line2: str, col: int,  # type: ignore[no-untyped-def]
                                                          fragments: list[str]) -> None:
    title = "" if line2.startswith("title") else "title: T\n"
    report = check_file(f"id: s\n{line2}\n{title}" + VALID_TAIL)
    problems = [p for p in report.errors if p.line == 2]
    assert len(problems) == 1, report.errors
    assert problems[0].col == col
    for fragment in fragments:
        assert fragment in problems[0].message


def test_a_choice_text_read_as_a_boolean_asks_to_quote_it(check_file) -> None:  # type: ignore[no-untyped-def]
    report = check_file("""\
        id: s
        title: T
        nodes:
          a:
            choices:
              - text: No
                goto: e
          e: {ending: success}
        """)
    [problem] = report.errors
    assert (problem.line, problem.col) == (6, 15)
    assert 'put it in quotes: "No"' in problem.message


# -- size ------------------------------------------------------------------------------------


def test_a_file_of_exactly_the_limit_loads() -> None:
    raw = b"a: " + b"x" * (MAX_BYTES - 4) + b"\n"
    assert len(raw) == MAX_BYTES
    assert load_bytes(raw).data["a"] == "x" * (MAX_BYTES - 4)


def test_one_byte_over_the_limit_is_refused(no_parser: None) -> None:
    raw = b"a: " + b"x" * (MAX_BYTES - 3) + b"\n"
    problem = only(refused(load_bytes, raw))
    assert (problem.line, problem.col) == (1, 1)
    assert "larger than 1 MiB" in problem.message


def test_load_text_counts_the_limit_in_utf8_bytes(no_parser: None) -> None:
    text = "a: " + "ş" * (MAX_BYTES // 2) + "\n"
    assert len(text) < MAX_BYTES
    problem = only(refused(load_text, text))
    assert "larger than 1 MiB" in problem.message


@pytest.fixture
def twenty_mb_file(tmp_path: Path) -> Path:
    path = tmp_path / "huge.yaml"
    line = b"key: some value that repeats\n"
    with open(path, "wb") as handle:
        for _ in range(20 * 1024 * 1024 // (len(line) * 1024) + 1):
            handle.write(line * 1024)
    assert path.stat().st_size > 20 * 1024 * 1024
    return path


def test_a_20_mb_file_is_refused_by_size(twenty_mb_file: Path, no_parser: None) -> None:
    problem = only(refused(load_file, twenty_mb_file))
    assert (problem.line, problem.col) == (1, 1)
    assert "larger than 1 MiB" in problem.message
    assert f"{twenty_mb_file.stat().st_size:,} bytes" in problem.message


def test_a_20_mb_file_is_not_read_whole(twenty_mb_file: Path, no_parser: None) -> None:
    # Reading the whole file would allocate 20 MB at once; reading the limit plus one byte, about 1 MiB.
    assert peak_bytes(lambda: load_file(twenty_mb_file)) < 4 * MAX_BYTES


def test_20_mb_of_bytes_is_refused_before_decoding(no_parser: None) -> None:
    raw = b"key: value\n" * (2 * 1024 * 1024)
    problem = only(refused(load_bytes, raw))
    assert "larger than 1 MiB" in problem.message
    # Decoding would allocate a 20 MB str.
    assert peak_bytes(lambda: load_bytes(raw)) < 4 * MAX_BYTES


def test_20_mb_of_text_is_refused_with_bounded_memory(no_parser: None) -> None:
    text = "key: value\n" * (2 * 1024 * 1024)
    problem = only(refused(load_text, text))
    assert "larger than 1 MiB" in problem.message
    assert peak_bytes(lambda: load_text(text)) < PEAK_LIMIT


# -- nesting ---------------------------------------------------------------------------------


def test_a_bracket_bomb_is_refused_before_the_parser_sees_it(no_parser: None) -> None:
    text = "id: x\ntitle: t\nbomb: " + "[" * 60000 + "\n"
    problem = only(refused(load_text, text))
    assert problem.line == 3
    # At the first bracket too deep (the 65th) or, from a coarser safety net, somewhere later in the run.
    assert len("bomb: ") + MAX_DEPTH + 1 <= problem.col <= len("bomb: ") + 60000
    assert f"deeper than {MAX_DEPTH}" in problem.message


def test_a_brace_bomb_is_refused_before_the_parser_sees_it(no_parser: None) -> None:
    text = "id: x\nbomb: " + "{a: " * 60000 + "\n"
    problem = only(refused(load_text, text))
    assert problem.line == 2
    assert len("bomb: ") + len("{a: ") * MAX_DEPTH + 1 <= problem.col <= len(text)
    assert f"deeper than {MAX_DEPTH}" in problem.message


def test_a_mixed_bracket_bomb_over_several_lines_is_refused_before_parsing(no_parser: None) -> None:
    text = "id: x\nbomb:\n" + "".join("  [{a:\n" for _ in range(40)) + "\n"
    problem = only(refused(load_text, text))
    assert problem.line == 2 + 33 and f"deeper than {MAX_DEPTH}" in problem.message


def test_a_bracket_bomb_as_bytes_is_refused_before_parsing(no_parser: None) -> None:
    problem = only(refused(load_bytes, b"[" * 60000))
    assert problem.line == 1 and MAX_DEPTH + 1 <= problem.col <= 60000
    assert f"deeper than {MAX_DEPTH}" in problem.message


def test_a_bracket_bomb_stays_small_in_memory(no_parser: None) -> None:
    text = "bomb: " + "[" * 60000 + "\n"
    assert peak_bytes(lambda: load_text(text)) < PEAK_LIMIT


def test_brackets_in_a_comment_do_not_count(loader: str) -> None:
    loaded = load_text("id: x  # " + "[" * 200 + "\ntitle: t\n")
    assert loaded.data == {"id": "x", "title": "t"}


def test_brackets_inside_a_plain_scalar_are_text(loader: str) -> None:
    # YAML reads `a#[[[...` and `x [[[...` as plain text, not as a comment or as flow collections.
    text = "id: a#" + "[" * 100 + "\ntitle: x " + "{" * 100 + "\n"
    assert load_text(text).data == yaml.safe_load(text) == {"id": "a#" + "[" * 100, "title": "x " + "{" * 100}


def test_closing_brackets_are_counted_so_siblings_do_not_add_up(loader: str) -> None:
    text = "id: x\nlists: [" + ", ".join(["[1]"] * 500) + "]\n"
    assert len(load_text(text).data["lists"]) == 500


def test_flow_nesting_of_exactly_64_levels_loads(loader: str) -> None:
    text = "{a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "}\n"
    loaded = load_text(text)
    value = loaded.data["a"]
    for _ in range(MAX_DEPTH - 2):
        value = value[0]
    assert value == []


def test_flow_nesting_of_65_levels_is_refused(loader: str) -> None:
    text = "{a: " + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "}\n"
    problem = only(refused(load_text, text))
    assert f"deeper than {MAX_DEPTH}" in problem.message and problem.line == 1


def test_block_nesting_of_exactly_64_levels_loads(loader: str) -> None:
    loaded = load_text(block_nesting(MAX_DEPTH))
    value = loaded.data
    for depth in range(1, MAX_DEPTH):
        value = value[f"k{depth}"]
    assert value == {f"k{MAX_DEPTH}": "leaf"}
    assert loaded.key_marks[tuple(f"k{d}" for d in range(1, MAX_DEPTH + 1))] == Mark(MAX_DEPTH, 2 * MAX_DEPTH - 1)


def test_block_nesting_of_65_levels_is_refused_at_the_deepest_mapping(loader: str) -> None:
    problem = only(refused(load_text, block_nesting(MAX_DEPTH + 1)))
    assert (problem.line, problem.col) == (MAX_DEPTH + 1, 2 * MAX_DEPTH + 1)
    assert f"deeper than {MAX_DEPTH}" in problem.message


def test_block_sequence_nesting_is_refused(loader: str) -> None:
    text = "id: x\nitems:\n" + "".join("  " * depth + "-\n" for depth in range(MAX_DEPTH + 5))
    problem = only(refused(load_text, text))
    assert f"deeper than {MAX_DEPTH}" in problem.message and problem.line > MAX_DEPTH


def test_a_compact_dash_bomb_is_refused_with_bounded_memory(loader: str) -> None:
    # Block nesting needs no brackets: 300,000 levels fit on one line.
    text = "id: x\nbomb:\n  " + "- " * 300_000 + "x\n"
    problem = only(refused(load_text, text))
    assert problem.line == 3 and f"deeper than {MAX_DEPTH}" in problem.message
    assert peak_bytes(lambda: load_text(text)) < PEAK_LIMIT


def test_flow_inside_block_nesting_adds_up(loader: str) -> None:
    text = block_nesting(40).replace("leaf", "[" * 30 + "]" * 30)
    problem = only(refused(load_text, text))
    assert problem.line == 40 and f"deeper than {MAX_DEPTH}" in problem.message


BOMB = "[" * 60000

# Flow collections the cheap scan must see, wherever YAML lets one start: (text, line of the 65th bracket).
VISIBLE_BOMBS = {
    "quoted-hash-before": ('id: x\nbomb: [" #", ' + BOMB + "\n", 2),
    "quoted-closers": ("id: x\nbomb: " + '["]", ' * 1000 + "\n", 2),
    "single-quoted-closers": ("id: x\nbomb: " + "[']', " * 1000 + "\n", 2),
    "escaped-double-quote": ('id: x\nbomb: ["a\\"]", ' + BOMB + "\n", 2),
    "doubled-single-quote": ("id: x\nbomb: ['it''s]', " + BOMB + "\n", 2),
    "top-level-flow-key": (BOMB + "\n", 1),
    "document-start": ("--- " + BOMB + "\n", 1),
    "explicit-key": ("? " + BOMB + "\n", 1),
    "sequence-entry": ("id: x\nbomb:\n- " + BOMB + "\n", 3),
    "tab-after-colon": ("id: x\nbomb:\t" + BOMB + "\n", 2),
    "value-on-next-line": ("id: x\nbomb:\n  " + BOMB + "\n", 3),
    "after-comma-without-space": ("id: x\nbomb: [1," + BOMB + "\n", 2),
    "flow-mapping-value": ("id: x\nbomb: {b: 1,c:" + BOMB + "\n", 2),
    "after-a-block-scalar": ("id: x\nnote: |\n  text\nbomb: " + BOMB + "\n", 4),
    "after-a-kept-block-scalar": ("id: x\nnote: |+\n  text\n\nbomb: " + BOMB + "\n", 5),
    "after-a-multi-line-quote": ('id: x\nnote: "a\n  b"\nbomb: ' + BOMB + "\n", 4),
    "crlf-lines": ("id: x\r\nbomb: " + BOMB + "\r\n", 2),
    "one-per-line": ("id: x\nbomb:\n" + "  [\n" * 70, 2 + MAX_DEPTH + 1),
}


@pytest.mark.parametrize("name", sorted(VISIBLE_BOMBS))
def test_flow_bombs_are_refused_before_the_parser_sees_them(no_parser: None, name: str) -> None:
    text, line = VISIBLE_BOMBS[name]
    problem = only(refused(load_text, text))
    assert f"deeper than {MAX_DEPTH}" in problem.message
    assert problem.line == line


# Flow nesting disguised from a line-by-line reading: after a comment that looks like a block scalar header,
# after a quote character inside a flow plain scalar, after '- [' or '? [' inside plain text, after a tag or anchor.
DISGUISES = {
    "comment-ending-in-a-pipe": ("id: x\nbomb:\n# |\n  ", 4),
    "apostrophe-in-a-flow-plain-scalar": ("id: x\nbomb: [it's, ", 2),
    "double-quote-in-a-flow-plain-scalar": ('id: x\nbomb: [x"y, ', 2),
    "text-with-dash-bracket-then-apostrophe": ("id: x\ntitle: a - [b\nsummary: it's\nbomb: ", 4),
    "text-with-question-bracket-then-apostrophe": ("id: x\ntitle: why? [b\nsummary: it's\nbomb: ", 4),
    "after-a-tag": ("id: x\nbomb: !!seq ", 2),
    "after-an-anchor": ("id: x\nbomb: &b ", 2),
}


@pytest.mark.parametrize("name", sorted(DISGUISES))
def test_disguised_60_kb_bombs_are_refused_before_the_parser_sees_them(no_parser: None, name: str) -> None:
    prefix, line = DISGUISES[name]
    problem = only(refused(load_text, prefix + BOMB + "\n"))
    assert problem.line == line
    assert f"deeper than {MAX_DEPTH}" in problem.message or "are not allowed" in problem.message


@pytest.mark.parametrize("name", sorted(DISGUISES))
def test_disguised_moderate_nesting_is_refused_at_the_depth_limit(loader: str, name: str) -> None:
    # A few hundred levels are harmless to the parser; whatever the scan lets through, the event-by-event
    # composer stops at the first anchor or tag, or at the first level too deep.
    prefix, line = DISGUISES[name]
    problem = only(refused(load_text, prefix + "[" * 300 + "\n"))
    assert problem.line == line
    assert f"deeper than {MAX_DEPTH}" in problem.message or "are not allowed" in problem.message


# Both disguises at once: a quote character that the flow scan takes for an unclosed quoted string, then quoted
# ']' that the raw-bracket safety net counts as closers although YAML reads them as text.
DOUBLE_DISGUISES = {
    "apostrophe-in-a-flow-plain-scalar": ("id: x\nbomb: [it's, ", 2),
    "double-quote-in-a-flow-plain-scalar": ('id: x\nbomb: [x"y, ', 2),
    "text-with-dash-bracket-then-apostrophe": ("id: x\ntitle: a - [b\nsummary: it's\nbomb: ", 4),
}
QUOTED_CLOSERS = '["]", ' * 20000  # 20,000 real levels, each holding the text "]"


@pytest.mark.parametrize("name", sorted(DOUBLE_DISGUISES))
def test_doubly_disguised_bombs_are_refused_before_the_parser_sees_them(no_parser: None, name: str) -> None:
    prefix, line = DOUBLE_DISGUISES[name]
    problem = only(refused(load_text, prefix + QUOTED_CLOSERS + "\n"))
    assert problem.line == line and f"deeper than {MAX_DEPTH}" in problem.message


@pytest.mark.parametrize("name", sorted(DOUBLE_DISGUISES))
def test_doubly_disguised_bombs_are_still_refused_by_the_composer(loader: str, name: str) -> None:
    prefix, line = DOUBLE_DISGUISES[name]
    problem = only(refused(load_text, prefix + QUOTED_CLOSERS + "\n"))
    assert problem.line == line and f"deeper than {MAX_DEPTH}" in problem.message
    assert peak_bytes(lambda: load_text(prefix + QUOTED_CLOSERS + "\n")) < PEAK_LIMIT


class BudgetExceeded(Exception):
    """The code under test ran past its time budget."""


@contextmanager
def time_budget(seconds: float) -> Iterator[None]:
    """Interrupt the test when it runs past `seconds` (SIGALRM; main thread, POSIX only)."""
    def expire(signum: int, frame: object) -> None:
        raise BudgetExceeded(f"still running after {seconds} s")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


needs_timer = pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs POSIX interval timers")

# Not benchmarks: each budget is a hundred times what a linear scan needs on a slow machine; it only catches a
# scan whose cost grows with the square of a line's length (an earlier scan took tens of seconds on these).
BUDGET = 2.0


@needs_timer
@pytest.mark.parametrize("prefix", ["!!seq ", "&b ", "x", "x ", "why? "],
                         ids=["after-a-tag", "after-an-anchor", "glued-to-text", "after-text", "after-a-question"])
def test_a_60_kb_bomb_anywhere_on_a_line_answers_quickly(no_parser: None, prefix: str) -> None:
    with time_budget(BUDGET):
        problem = only(refused(load_text, "id: x\nbomb: " + prefix + BOMB + "\n"))
    assert problem.line == 2


@needs_timer
@pytest.mark.parametrize("run", ["[]" * 30000, "]" * 60000, "'" * 60000, '"' * 60000, "{}" * 30000, "# []" * 15000],
                         ids=["bracket-pairs", "close-brackets", "apostrophes", "double-quotes", "brace-pairs",
                              "hash-bracket-pairs"])
def test_a_60_kb_run_of_brackets_or_quotes_in_text_is_scanned_in_linear_time(run: str) -> None:
    with time_budget(BUDGET):
        loaded = load_text("id: x\ntitle: x" + run + "\n")
    assert loaded.data["title"] == "x" + run


NOT_NESTING = {
    "single-quoted": "title: '" + "[" * 70 + "'\n",
    "double-quoted": 'title: "' + "{" * 70 + '"\n',
    "double-quoted-over-lines": 'title: "' + "[" * 40 + "\n  " + "[" * 40 + '"\n',
    "literal-block": "summary: |\n  " + "[" * 70 + "\n  " + "{" * 70 + "\nid: x\n",
    "folded-block-with-indicators": "summary: >-2\n    " + "[" * 70 + "\nid: x\n",
    "comment": "id: x  # " + "[" * 70 + "\n",
    "comment-line": "# " + "{" * 70 + "\nid: x\n",
    "plain-scalar": "title: x " + "[" * 70 + "\n",
    "plain-scalar-after-a-question-mark": "title: why? " + "[" * 70 + "\n",
    "plain-scalar-in-a-list": "items:\n  - a [" + "[" * 70 + "\n",
    "quoted-inside-flow": "items: ['" + "[" * 70 + "', \"" + "{" * 70 + "\"]\n",
}


@pytest.mark.parametrize("name", sorted(NOT_NESTING))
def test_brackets_inside_text_are_not_nesting(loader: str, name: str) -> None:
    text = NOT_NESTING[name]
    assert load_text(text).data == yaml.safe_load(text)


@pytest.mark.xfail(strict=True, reason="low severity, errs on the safe side: nesting.check_flow_nesting counts '[' / '{' "
                   "after ' - ' inside plain text, and on a plain scalar's continuation line, as flow collections, "
                   "so such text with 65 brackets is refused as nesting")
@pytest.mark.parametrize("text", [
    "title: a - " + "{" * 70 + "\n",
    "title: a\n  " + "[" * 70 + "\n",
], ids=["after-dash", "continuation-line"])
def test_brackets_in_plain_text_after_a_dash_or_on_a_continuation_line_are_not_nesting(text: str) -> None:
    assert load_text(text).data == yaml.safe_load(text)


def test_the_parsed_text_is_kept_so_what_is_stored_is_what_was_checked():
    text = "id: a\ntitle: Ä\r\nnodes: {}\n"
    assert load_text("\ufeff" + text).text == text
