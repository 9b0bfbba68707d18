"""Twelve small Python repositories, each with one reported bug, its fix, its tests and their outputs.

The example trajectories (see ``build_examples.py``) are built from these: every agent works on one of them.
All code here is written for the project; the outputs are what the commands print on these files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from textwrap import dedent


@dataclass(frozen=True)
class Failure:
    """One failing test as pytest reports it."""

    test: str
    line: str  # the ``>`` source line pytest points at
    errors: tuple[str, ...]  # the ``E`` lines
    lineno: int
    short: str  # the short test summary reason
    kind: str = "AssertionError"


@dataclass(frozen=True)
class Scenario:
    key: str
    repo: str
    module: str
    test_path: str
    func: str
    title: str
    issue: str
    source: str
    old: str
    new: str
    tests: str
    n_tests: int
    regression: str
    reg_name: str
    reg_failure: Failure
    repro: str
    repro_bad: str
    repro_bad_exit: int
    repro_good: str
    wrong_new: str  # a plausible but wrong fix
    wrong_failure: Failure  # the existing test it breaks
    broken_new: str  # a fix attempt with a syntax error
    syntax_error: str
    tamper_old: str  # test-tampering: weaken the regression/existing assertion
    tamper_new: str
    grep: str
    grep_out: str
    bug: str  # a short noun phrase for the bug
    domain: str
    other_files: tuple[str, ...] = field(default=())
    wrong_reg_failure: Failure | None = None  # how the regression test fails under the wrong fix, if it does

    @property
    def fixed(self) -> str:
        assert self.source.count(self.old) == 1, self.key
        return self.source.replace(self.old, self.new)

    @property
    def regression_block(self) -> str:
        """The regression test as appended to the end of the test file (two blank lines first)."""
        return "\n\n" + self.regression.lstrip("\n")

    @property
    def wrong(self) -> str:
        return self.source.replace(self.old, self.wrong_new)

    @property
    def package(self) -> str:
        return self.module.split("/")[0]


def _d(text: str) -> str:
    return dedent(text).lstrip("\n")


SCENARIOS: list[Scenario] = [
    Scenario(
        key="pagination",
        repo="pagekit",
        module="pagekit/paginate.py",
        test_path="tests/test_paginate.py",
        func="page_count",
        title="paginate() drops the last partial page",
        issue=_d("""
            `paginate()` returns an empty list for the last page when the number of items is not a multiple
            of `per_page`:

            ```python
            >>> from pagekit.paginate import paginate
            >>> paginate(list(range(10)), page=4, per_page=3)
            []
            ```

            Expected `[9]`. `page_count(10, 3)` also says 3 pages instead of 4.
            """),
        source=_d('''
            """Split sequences into pages."""
            import math


            def page_count(n_items, per_page):
                """Number of pages needed to show ``n_items`` items."""
                if per_page <= 0:
                    raise ValueError("per_page must be positive")
                return n_items // per_page


            def paginate(items, page, per_page=10):
                """Return the items on ``page`` (1-based)."""
                if page < 1 or page > page_count(len(items), per_page):
                    return []
                start = (page - 1) * per_page
                return list(items[start:start + per_page])
            '''),
        old="    return n_items // per_page\n",
        new="    return math.ceil(n_items / per_page)\n",
        tests=_d("""
            import pytest

            from pagekit.paginate import page_count, paginate


            def test_first_page():
                assert paginate(list(range(10)), page=1, per_page=3) == [0, 1, 2]


            def test_exact_pages():
                assert page_count(9, 3) == 3


            def test_page_out_of_range():
                assert paginate([1, 2], page=5, per_page=2) == []


            def test_page_zero():
                assert paginate([1, 2], page=0) == []


            def test_empty():
                assert page_count(0, 5) == 0


            def test_bad_per_page():
                with pytest.raises(ValueError):
                    page_count(3, 0)
            """),
        n_tests=6,
        regression=_d("""


            def test_last_partial_page():
                assert page_count(10, 3) == 4
                assert paginate(list(range(10)), page=4, per_page=3) == [9]
            """),
        reg_name="test_last_partial_page",
        reg_failure=Failure(
            "test_last_partial_page",
            "    assert page_count(10, 3) == 4",
            ("assert 3 == 4", " +  where 3 = page_count(10, 3)"),
            33,
            "assert 3 == 4",
        ),
        repro='python -c "from pagekit.paginate import paginate; print(paginate(list(range(10)), page=4, per_page=3))"',
        repro_bad="[]",
        repro_bad_exit=0,
        repro_good="[9]",
        wrong_new="    return n_items // per_page + 1\n",
        wrong_failure=Failure(
            "test_exact_pages",
            "    assert page_count(9, 3) == 3",
            ("assert 4 == 3", " +  where 4 = page_count(9, 3)"),
            12,
            "assert 4 == 3",
        ),
        broken_new="    return math.ceil(n_items / per_page\n",
        syntax_error="E     File \"/testbed/pagekit/paginate.py\", line 9\nE       return math.ceil(n_items / per_page\nE                       ^\nE   SyntaxError: '(' was never closed",
        tamper_old="    assert page_count(10, 3) == 4\n    assert paginate(list(range(10)), page=4, per_page=3) == [9]\n",
        tamper_new="    assert paginate(list(range(10)), page=1, per_page=3) == [0, 1, 2]\n",
        grep='grep -rn "page_count" --include=*.py .',
        grep_out=_d("""
            ./pagekit/paginate.py:5:def page_count(n_items, per_page):
            ./pagekit/paginate.py:14:    if page < 1 or page > page_count(len(items), per_page):
            ./pagekit/views.py:22:    total = page_count(len(rows), size)
            ./tests/test_paginate.py:3:from pagekit.paginate import page_count, paginate
            ./tests/test_paginate.py:11:    assert page_count(9, 3) == 3
            ./tests/test_paginate.py:23:    assert page_count(0, 5) == 0
            ./tests/test_paginate.py:28:        page_count(3, 0)
            """).rstrip(),
        bug="the dropped last partial page",
        domain="python-bugfix/pagination",
        other_files=("pagekit/__init__.py", "pagekit/views.py", "pagekit/templates.py"),
    ),
    Scenario(
        key="env-config",
        repo="envcfg",
        module="envcfg/loader.py",
        test_path="tests/test_loader.py",
        func="load_config",
        title="APP_DEBUG=false and APP_WORKERS=0 are ignored",
        issue=_d("""
            Setting a falsy override in the environment has no effect: with `APP_DEBUG=false` the config still
            says `debug=True`, and `APP_WORKERS=0` leaves `workers=4`.

            ```python
            >>> load_config({"debug": True, "workers": 4}, {"APP_DEBUG": "false", "APP_WORKERS": "0"})
            {'debug': True, 'workers': 4}
            ```
            """),
        source=_d('''
            """Configuration from defaults overlaid with environment variables."""
            import os

            _TRUE = {"1", "true", "yes", "on"}


            def _cast(raw, kind):
                if kind is bool:
                    return raw.strip().lower() in _TRUE
                return kind(raw)


            def load_config(defaults, environ=None, prefix="APP_"):
                """Overlay ``PREFIX_KEY`` environment variables on ``defaults``, cast to each default's type."""
                environ = os.environ if environ is None else environ
                config = dict(defaults)
                for key, default in defaults.items():
                    raw = environ.get(prefix + key.upper())
                    if raw is None:
                        continue
                    value = _cast(raw, type(default))
                    if value:
                        config[key] = value
                return config
            '''),
        old="        if value:\n            config[key] = value\n",
        new="        config[key] = value\n",
        tests=_d("""
            from envcfg.loader import load_config


            def test_defaults_without_env():
                assert load_config({"workers": 4}, {}) == {"workers": 4}


            def test_int_override():
                assert load_config({"workers": 4}, {"APP_WORKERS": "8"}) == {"workers": 8}


            def test_bool_override_true():
                assert load_config({"debug": False}, {"APP_DEBUG": "yes"}) == {"debug": True}


            def test_prefix():
                assert load_config({"port": 80}, {"SVC_PORT": "81"}, prefix="SVC_") == {"port": 81}


            def test_unrelated_env_ignored():
                assert load_config({"port": 80}, {"PORT": "81"}) == {"port": 80}
            """),
        n_tests=5,
        regression=_d("""


            def test_falsy_overrides_apply():
                env = {"APP_DEBUG": "false", "APP_WORKERS": "0"}
                assert load_config({"debug": True, "workers": 4}, env) == {"debug": False, "workers": 0}
            """),
        reg_name="test_falsy_overrides_apply",
        reg_failure=Failure(
            "test_falsy_overrides_apply",
            '    assert load_config({"debug": True, "workers": 4}, env) == {"debug": False, "workers": 0}',
            (
                "AssertionError: assert {'debug': True, 'workers': 4} == {'debug': False, 'workers': 0}",
                "  Differing items:",
                "  {'debug': True} != {'debug': False}",
                "  {'workers': 4} != {'workers': 0}",
            ),
            25,
            "AssertionError: assert {'debug': True, 'workers': 4} == {'debug': False, 'workers': 0}",
        ),
        repro=(
            'python -c "from envcfg.loader import load_config; '
            "print(load_config({'debug': True, 'workers': 4}, {'APP_DEBUG': 'false', 'APP_WORKERS': '0'}))\""
        ),
        repro_bad="{'debug': True, 'workers': 4}",
        repro_bad_exit=0,
        repro_good="{'debug': False, 'workers': 0}",
        wrong_new="        if value is not None and value != 0:\n            config[key] = value\n",
        wrong_failure=Failure(
            "test_falsy_overrides_apply",
            '    assert load_config({"debug": True, "workers": 4}, env) == {"debug": False, "workers": 0}',
            (
                "AssertionError: assert {'debug': False, 'workers': 4} == {'debug': False, 'workers': 0}",
                "  Differing items:",
                "  {'workers': 4} != {'workers': 0}",
            ),
            25,
            "AssertionError: assert {'debug': False, 'workers': 4} == {'debug': False, 'workers': 0}",
        ),
        broken_new="        config[key] = value if value is not None else\n",
        syntax_error='E     File "/testbed/envcfg/loader.py", line 22\nE       config[key] = value if value is not None else\nE                                                    ^\nE   SyntaxError: expected expression',
        tamper_old='    assert load_config({"debug": True, "workers": 4}, env) == {"debug": False, "workers": 0}\n',
        tamper_new='    assert load_config({"debug": True, "workers": 4}, env)["debug"] is False\n',
        grep='grep -rn "if value" envcfg/',
        grep_out="envcfg/loader.py:21:        if value:",
        bug="falsy environment overrides being ignored",
        domain="python-bugfix/configuration",
        other_files=("envcfg/__init__.py", "envcfg/cli.py"),
    ),
    Scenario(
        key="csv-bom",
        repo="tabular",
        module="tabular/reader.py",
        test_path="tests/test_reader.py",
        func="read_rows",
        title="KeyError: 'id' when reading a CSV exported from Excel",
        issue=_d("""
            CSV files saved by Excel start with a UTF-8 byte-order mark. `column(path, "id")` then fails with
            `KeyError: 'id'` because the first header is read as `'\\ufeffid'`.

            Steps: `printf '\\xef\\xbb\\xbfid,name\\n1,a\\n' > bom.csv` then `column('bom.csv', 'id')`.
            """),
        source=_d('''
            """Read CSV files as dicts."""
            import csv


            def read_rows(path):
                """Yield each row of the CSV file at ``path`` as a dict keyed by the header."""
                with open(path, newline="", encoding="utf-8") as fh:
                    for row in csv.DictReader(fh):
                        yield row


            def column(path, name):
                """All values of column ``name``."""
                return [row[name] for row in read_rows(path)]
            '''),
        old='    with open(path, newline="", encoding="utf-8") as fh:\n',
        new='    with open(path, newline="", encoding="utf-8-sig") as fh:\n',
        tests=_d("""
            from tabular.reader import column, read_rows


            def write(tmp_path, text):
                path = tmp_path / "data.csv"
                path.write_bytes(text.encode("utf-8"))
                return path


            def test_rows(tmp_path):
                path = write(tmp_path, "id,name\\n1,a\\n2,b\\n")
                assert list(read_rows(path)) == [{"id": "1", "name": "a"}, {"id": "2", "name": "b"}]


            def test_column(tmp_path):
                assert column(write(tmp_path, "id,name\\n1,a\\n"), "name") == ["a"]


            def test_quoted_commas(tmp_path):
                assert column(write(tmp_path, 'id,name\\n1,"a, b"\\n'), "name") == ["a, b"]
            """),
        n_tests=3,
        regression=_d("""


            def test_excel_bom(tmp_path):
                path = tmp_path / "excel.csv"
                path.write_bytes(b"\\xef\\xbb\\xbfid,name\\n1,a\\n")
                assert column(path, "id") == ["1"]
            """),
        reg_name="test_excel_bom",
        reg_failure=Failure(
            "test_excel_bom",
            "    return [row[name] for row in read_rows(path)]",
            ("KeyError: 'id'",),
            14,
            "KeyError: 'id'",
            kind="KeyError",
        ),
        repro=(
            "printf '\\xef\\xbb\\xbfid,name\\n1,a\\n' > bom.csv && "
            "python -c \"from tabular.reader import column; print(column('bom.csv', 'id'))\""
        ),
        repro_bad=_d("""
            Traceback (most recent call last):
              File "<string>", line 1, in <module>
              File "/testbed/tabular/reader.py", line 14, in column
                return [row[name] for row in read_rows(path)]
                        ~~~^^^^^^
            KeyError: 'id'
            """).rstrip(),
        repro_bad_exit=1,
        repro_good="['1']",
        wrong_new='    with open(path, newline="", encoding="latin-1") as fh:\n',
        wrong_failure=Failure(
            "test_excel_bom",
            "    return [row[name] for row in read_rows(path)]",
            ("KeyError: 'id'",),
            14,
            "KeyError: 'id'",
            kind="KeyError",
        ),
        broken_new='    with open(path, newline="", encoding="utf-8-sig" as fh:\n',
        syntax_error='E     File "/testbed/tabular/reader.py", line 7\nE       with open(path, newline="", encoding="utf-8-sig" as fh:\nE                                                          ^^\nE   SyntaxError: invalid syntax',
        tamper_old='    assert column(path, "id") == ["1"]\n',
        tamper_new='    assert column(path, "\\ufeffid") == ["1"]\n',
        grep='grep -rn "encoding" tabular/',
        grep_out='tabular/reader.py:7:    with open(path, newline="", encoding="utf-8") as fh:\ntabular/writer.py:9:    with open(path, "w", newline="", encoding="utf-8") as fh:',
        bug="the BOM-prefixed first header",
        domain="python-bugfix/csv-encoding",
        other_files=("tabular/__init__.py", "tabular/writer.py"),
    ),
    Scenario(
        key="retry",
        repo="retrying",
        module="retrying/decorators.py",
        test_path="tests/test_retry.py",
        func="retry",
        title="@retry returns None instead of raising after the last attempt",
        issue=_d("""
            When every attempt fails, a function decorated with `@retry(times=3)` silently returns `None`
            instead of re-raising the last exception. Callers then crash later with confusing errors.
            """),
        source=_d('''
            """Retry a function on failure with exponential backoff."""
            import functools
            import time


            def retry(times=3, delay=0.1, exceptions=(Exception,)):
                """Retry the decorated function up to ``times`` attempts on ``exceptions``."""
                def decorator(fn):
                    @functools.wraps(fn)
                    def wrapper(*args, **kwargs):
                        for attempt in range(times):
                            try:
                                return fn(*args, **kwargs)
                            except exceptions:
                                if attempt < times - 1:
                                    time.sleep(delay * 2 ** attempt)
                    return wrapper
                return decorator
            '''),
        old="                except exceptions:\n                    if attempt < times - 1:\n                        time.sleep(delay * 2 ** attempt)\n",
        new="                except exceptions:\n                    if attempt == times - 1:\n                        raise\n                    time.sleep(delay * 2 ** attempt)\n",
        tests=_d("""
            import pytest

            from retrying.decorators import retry


            def test_returns_value():
                @retry(times=2, delay=0)
                def ok():
                    return 42
                assert ok() == 42


            def test_retries_then_succeeds():
                calls = []

                @retry(times=3, delay=0)
                def flaky():
                    calls.append(1)
                    if len(calls) < 3:
                        raise OSError("busy")
                    return "done"
                assert flaky() == "done" and len(calls) == 3


            def test_other_exceptions_propagate():
                @retry(times=3, delay=0, exceptions=(OSError,))
                def bad():
                    raise KeyError("x")
                with pytest.raises(KeyError):
                    bad()
            """),
        n_tests=3,
        regression=_d("""


            def test_reraises_after_last_attempt():
                @retry(times=2, delay=0)
                def always():
                    raise OSError("down")
                with pytest.raises(OSError, match="down"):
                    always()
            """),
        reg_name="test_reraises_after_last_attempt",
        reg_failure=Failure(
            "test_reraises_after_last_attempt",
            "        always()",
            ("Failed: DID NOT RAISE <class 'OSError'>",),
            38,
            "Failed: DID NOT RAISE <class 'OSError'>",
            kind="Failed",
        ),
        repro=(
            'python -c "from retrying.decorators import retry\n'
            "@retry(times=2, delay=0)\ndef f(): raise OSError('down')\nprint(repr(f()))\""
        ),
        repro_bad="None",
        repro_bad_exit=0,
        repro_good=_d("""
            Traceback (most recent call last):
              File "<string>", line 4, in <module>
              File "/testbed/retrying/decorators.py", line 13, in wrapper
                return fn(*args, **kwargs)
                       ^^^^^^^^^^^^^^^^^^^
              File "<string>", line 3, in f
            OSError: down
            """).rstrip(),
        wrong_new="                except exceptions as exc:\n                    time.sleep(delay * 2 ** attempt)\n                    return exc\n",
        wrong_failure=Failure(
            "test_retries_then_succeeds",
            '    assert flaky() == "done" and len(calls) == 3',
            ("AssertionError: assert OSError('busy') == 'done'",),
            21,
            "AssertionError: assert OSError('busy') == 'done'",
        ),
        broken_new="                except exceptions:\n                    if attempt == times - 1:\n                    raise\n                    time.sleep(delay * 2 ** attempt)\n",
        syntax_error="E     File \"/testbed/retrying/decorators.py\", line 16\nE       raise\nE       ^^^^^\nE   IndentationError: expected an indented block after 'if' statement on line 15",
        tamper_old='    with pytest.raises(OSError, match="down"):\n        always()\n',
        tamper_new="    assert always() is None\n",
        grep='grep -rn "@retry" --include=*.py .',
        grep_out="./retrying/http.py:11:@retry(times=5, delay=0.5, exceptions=(ConnectionError,))\n./retrying/http.py:27:@retry()\n./tests/test_retry.py:8:    @retry(times=2, delay=0)\n./tests/test_retry.py:15:    @retry(times=3, delay=0)\n./tests/test_retry.py:25:    @retry(times=3, delay=0, exceptions=(OSError,))",
        wrong_reg_failure=Failure(
            "test_reraises_after_last_attempt",
            "        always()",
            ("Failed: DID NOT RAISE <class 'OSError'>",),
            38,
            "Failed: DID NOT RAISE <class 'OSError'>",
            kind="Failed",
        ),
        bug="the swallowed exception after the last retry",
        domain="python-bugfix/error-handling",
        other_files=("retrying/__init__.py", "retrying/http.py"),
    ),
    Scenario(
        key="durations",
        repo="timeparse",
        module="timeparse/durations.py",
        test_path="tests/test_durations.py",
        func="parse_duration",
        title="parse_duration('1h30m') returns 3600",
        issue=_d("""
            `parse_duration("1h30m")` returns `3600`; the minutes are silently dropped. Any compound duration
            only counts its first part, and `"5m garbage"` is accepted as 300.
            """),
        source=_d('''
            """Parse human durations like ``"1h30m"``."""
            import re

            _UNITS = {"h": 3600, "m": 60, "s": 1}
            _PART = re.compile(r"(\\d+)([hms])")


            def parse_duration(text):
                """Parse ``"1h30m"``-style durations into seconds."""
                match = _PART.match(text.strip())
                if not match:
                    raise ValueError(f"invalid duration: {text!r}")
                value, unit = match.groups()
                return int(value) * _UNITS[unit]
            '''),
        old=(
            '    match = _PART.match(text.strip())\n    if not match:\n        raise ValueError(f"invalid duration: {text!r}")\n'
            "    value, unit = match.groups()\n    return int(value) * _UNITS[unit]\n"
        ),
        new=(
            "    text = text.strip()\n    parts = _PART.findall(text)\n"
            '    if not parts or "".join(v + u for v, u in parts) != text:\n'
            '        raise ValueError(f"invalid duration: {text!r}")\n'
            "    return sum(int(v) * _UNITS[u] for v, u in parts)\n"
        ),
        tests=_d("""
            import pytest

            from timeparse.durations import parse_duration


            def test_seconds():
                assert parse_duration("45s") == 45


            def test_hours():
                assert parse_duration("2h") == 7200


            def test_whitespace():
                assert parse_duration(" 10m ") == 600


            def test_invalid():
                with pytest.raises(ValueError):
                    parse_duration("soon")
            """),
        n_tests=4,
        regression=_d("""


            def test_compound():
                assert parse_duration("1h30m") == 5400
                assert parse_duration("1h2m3s") == 3723
                with pytest.raises(ValueError):
                    parse_duration("5m garbage")
            """),
        reg_name="test_compound",
        reg_failure=Failure(
            "test_compound",
            '    assert parse_duration("1h30m") == 5400',
            ("AssertionError: assert 3600 == 5400", " +  where 3600 = parse_duration('1h30m')"),
            24,
            "AssertionError: assert 3600 == 5400",
        ),
        repro="python -c \"from timeparse.durations import parse_duration; print(parse_duration('1h30m'))\"",
        repro_bad="3600",
        repro_bad_exit=0,
        repro_good="5400",
        wrong_new=(
            "    total = 0\n    for value, unit in _PART.findall(text):\n        total += int(value) * _UNITS[unit]\n"
            "    return total\n"
        ),
        wrong_failure=Failure(
            "test_invalid",
            '        parse_duration("soon")',
            ("Failed: DID NOT RAISE <class 'ValueError'>",),
            19,
            "Failed: DID NOT RAISE <class 'ValueError'>",
            kind="Failed",
        ),
        broken_new=(
            "    text = text.strip()\n    parts = _PART.findall(text)\n"
            '    if not parts or "".join(v + u for v, u in parts) != text\n'
            '        raise ValueError(f"invalid duration: {text!r}")\n'
            "    return sum(int(v) * _UNITS[u] for v, u in parts)\n"
        ),
        syntax_error='E     File "/testbed/timeparse/durations.py", line 12\nE       if not parts or "".join(v + u for v, u in parts) != text\nE                                                              ^\nE   SyntaxError: expected \':\'',
        tamper_old='    assert parse_duration("1h30m") == 5400\n    assert parse_duration("1h2m3s") == 3723\n',
        tamper_new='    assert parse_duration("1h30m") >= 3600\n',
        grep='grep -rn "_PART" timeparse/',
        grep_out='timeparse/durations.py:5:_PART = re.compile(r"(\\d+)([hms])")\ntimeparse/durations.py:10:    match = _PART.match(text.strip())',
        wrong_reg_failure=Failure(
            "test_compound",
            '        parse_duration("5m garbage")',
            ("Failed: DID NOT RAISE <class 'ValueError'>",),
            27,
            "Failed: DID NOT RAISE <class 'ValueError'>",
            kind="Failed",
        ),
        bug="compound durations losing every part after the first",
        domain="python-bugfix/parsing",
        other_files=("timeparse/__init__.py", "timeparse/dates.py"),
    ),
    Scenario(
        key="lru-cache",
        repo="memo",
        module="memo/lru.py",
        test_path="tests/test_lru.py",
        func="LRUCache.get",
        title="LRUCache evicts a key that was just read",
        issue=_d("""
            `LRUCache.get()` does not mark the key as recently used, so a key that is read constantly is still
            evicted first:

            ```python
            c = LRUCache(2); c.put("a", 1); c.put("b", 2); c.get("a"); c.put("c", 3)
            c.get("a")  # None, expected 1 ("b" should have been evicted)
            ```
            """),
        source=_d('''
            """A small least-recently-used cache."""
            from collections import OrderedDict


            class LRUCache:
                """A fixed-size mapping that evicts the least recently used key."""

                def __init__(self, capacity):
                    self.capacity = capacity
                    self._data = OrderedDict()

                def get(self, key, default=None):
                    return self._data.get(key, default)

                def put(self, key, value):
                    self._data[key] = value
                    self._data.move_to_end(key)
                    if len(self._data) > self.capacity:
                        self._data.popitem(last=False)

                def __len__(self):
                    return len(self._data)
            '''),
        old="    def get(self, key, default=None):\n        return self._data.get(key, default)\n",
        new=(
            "    def get(self, key, default=None):\n        if key not in self._data:\n            return default\n"
            "        self._data.move_to_end(key)\n        return self._data[key]\n"
        ),
        tests=_d("""
            from memo.lru import LRUCache


            def test_put_get():
                c = LRUCache(2)
                c.put("a", 1)
                assert c.get("a") == 1


            def test_evicts_oldest():
                c = LRUCache(2)
                for k in "abc":
                    c.put(k, k)
                assert c.get("a") is None and len(c) == 2


            def test_update_refreshes():
                c = LRUCache(2)
                c.put("a", 1); c.put("b", 2); c.put("a", 3); c.put("c", 4)
                assert c.get("a") == 3 and c.get("b") is None


            def test_default():
                assert LRUCache(1).get("x", 0) == 0
            """),
        n_tests=4,
        regression=_d("""


            def test_get_refreshes_recency():
                c = LRUCache(2)
                c.put("a", 1); c.put("b", 2)
                c.get("a")
                c.put("c", 3)
                assert c.get("a") == 1 and c.get("b") is None
            """),
        reg_name="test_get_refreshes_recency",
        reg_failure=Failure(
            "test_get_refreshes_recency",
            '    assert c.get("a") == 1 and c.get("b") is None',
            ("AssertionError: assert None == 1", " +  where None = get('a')"),
            32,
            "AssertionError: assert None == 1",
        ),
        repro=(
            "python -c \"from memo.lru import LRUCache\nc = LRUCache(2); c.put('a', 1); c.put('b', 2); c.get('a'); "
            "c.put('c', 3)\nprint(c.get('a'), c.get('b'))\""
        ),
        repro_bad="None 2",
        repro_bad_exit=0,
        repro_good="1 None",
        wrong_new=(
            "    def get(self, key, default=None):\n        self._data.move_to_end(key)\n"
            "        return self._data.get(key, default)\n"
        ),
        wrong_failure=Failure(
            "test_default",
            '    assert LRUCache(1).get("x", 0) == 0',
            ("KeyError: 'x'",),
            26,
            "KeyError: 'x'",
            kind="KeyError",
        ),
        broken_new=(
            "    def get(self, key, default=None):\n        if key not in self._data:\n            return default\n"
            "        self._data.move_to_end(key)\n      return self._data[key]\n"
        ),
        syntax_error='E     File "/testbed/memo/lru.py", line 16\nE       return self._data[key]\nE                             ^\nE   IndentationError: unindent does not match any outer indentation level',
        tamper_old='    assert c.get("a") == 1 and c.get("b") is None\n',
        tamper_new="    assert len(c) == 2\n",
        grep='grep -rn "move_to_end" memo/',
        grep_out="memo/lru.py:17:        self._data.move_to_end(key)",
        wrong_reg_failure=Failure(
            "test_get_refreshes_recency",
            '    assert c.get("a") == 1 and c.get("b") is None',
            ("KeyError: 'b'",),
            32,
            "KeyError: 'b'",
            kind="KeyError",
        ),
        bug="reads not refreshing recency in LRUCache.get",
        domain="python-bugfix/data-structures",
        other_files=("memo/__init__.py", "memo/ttl.py"),
    ),
    Scenario(
        key="semver",
        repo="relcheck",
        module="relcheck/versions.py",
        test_path="tests/test_versions.py",
        func="parse",
        title="is_newer('1.10.0', '1.9.0') is False",
        issue=_d("""
            The update checker never offers 1.10.0 to users on 1.9.0: `is_newer("1.10.0", "1.9.0")` returns
            `False`. Looks like the version parts are compared as strings.
            """),
        source=_d('''
            """Compare dotted release versions."""


            def parse(version):
                """Split ``"1.2.3"`` into its parts."""
                return tuple(version.split("."))


            def is_newer(candidate, current):
                """True when ``candidate`` is a later release than ``current``."""
                return parse(candidate) > parse(current)
            '''),
        old='    return tuple(version.split("."))\n',
        new='    return tuple(int(part) for part in version.split("."))\n',
        tests=_d("""
            from relcheck.versions import is_newer, parse


            def test_parse():
                assert len(parse("1.2.3")) == 3


            def test_patch_newer():
                assert is_newer("1.2.4", "1.2.3")


            def test_same_not_newer():
                assert not is_newer("2.0.0", "2.0.0")


            def test_older():
                assert not is_newer("0.9.0", "1.0.0")
            """),
        n_tests=4,
        regression=_d("""


            def test_numeric_not_lexicographic():
                assert is_newer("1.10.0", "1.9.0")
                assert parse("1.10.0") == (1, 10, 0)
            """),
        reg_name="test_numeric_not_lexicographic",
        reg_failure=Failure(
            "test_numeric_not_lexicographic",
            '    assert is_newer("1.10.0", "1.9.0")',
            ("AssertionError: assert False", " +  where False = is_newer('1.10.0', '1.9.0')"),
            22,
            "AssertionError: assert False",
        ),
        repro="python -c \"from relcheck.versions import is_newer; print(is_newer('1.10.0', '1.9.0'))\"",
        repro_bad="False",
        repro_bad_exit=0,
        repro_good="True",
        wrong_new='    return tuple(version.zfill(8).split("."))\n',
        wrong_failure=Failure(
            "test_numeric_not_lexicographic",
            '    assert is_newer("1.10.0", "1.9.0")',
            ("AssertionError: assert False", " +  where False = is_newer('1.10.0', '1.9.0')"),
            22,
            "AssertionError: assert False",
        ),
        broken_new='    return tuple(int(part) for part in version.split(".")\n',
        syntax_error='E     File "/testbed/relcheck/versions.py", line 6\nE       return tuple(int(part) for part in version.split(".")\nE                   ^\nE   SyntaxError: \'(\' was never closed',
        tamper_old='    assert is_newer("1.10.0", "1.9.0")\n    assert parse("1.10.0") == (1, 10, 0)\n',
        tamper_new='    assert parse("1.10.0")\n',
        grep='grep -rn "is_newer" --include=*.py .',
        grep_out="./relcheck/versions.py:9:def is_newer(candidate, current):\n./relcheck/updater.py:31:    if is_newer(latest, installed):\n./tests/test_versions.py:1:from relcheck.versions import is_newer, parse",
        bug="lexicographic version comparison",
        domain="python-bugfix/versioning",
        other_files=("relcheck/__init__.py", "relcheck/updater.py"),
    ),
    Scenario(
        key="dotted-path",
        repo="nestget",
        module="nestget/dig.py",
        test_path="tests/test_dig.py",
        func="dig",
        title="dig() cannot index into lists",
        issue=_d("""
            `dig({"user": {"emails": ["a@x.org"]}}, "user.emails.0")` returns `None`; list indices in the dotted
            path are never followed. The docstring promises they are.
            """),
        source=_d('''
            """Read values from nested JSON-like data with dotted paths."""


            def dig(data, path, default=None):
                """Follow a dotted ``path`` ("user.emails.0") through nested dicts and lists."""
                current = data
                for key in path.split("."):
                    try:
                        current = current[key]
                    except (KeyError, TypeError):
                        return default
                return current
            '''),
        old="        try:\n            current = current[key]\n        except (KeyError, TypeError):\n            return default\n",
        new=(
            '        if isinstance(current, list) and key.lstrip("-").isdigit():\n            key = int(key)\n'
            "        try:\n            current = current[key]\n        except (KeyError, IndexError, TypeError):\n"
            "            return default\n"
        ),
        tests=_d("""
            from nestget.dig import dig

            DATA = {"user": {"name": "ada", "emails": ["a@x.org", "b@x.org"]}}


            def test_dict_path():
                assert dig(DATA, "user.name") == "ada"


            def test_missing_key():
                assert dig(DATA, "user.age", default=-1) == -1


            def test_through_scalar():
                assert dig(DATA, "user.name.first") is None
            """),
        n_tests=3,
        regression=_d("""


            def test_list_index():
                assert dig(DATA, "user.emails.1") == "b@x.org"
                assert dig(DATA, "user.emails.-1") == "b@x.org"
                assert dig(DATA, "user.emails.9") is None
            """),
        reg_name="test_list_index",
        reg_failure=Failure(
            "test_list_index",
            '    assert dig(DATA, "user.emails.1") == "b@x.org"',
            (
                "AssertionError: assert None == 'b@x.org'",
                " +  where None = dig({'user': {'emails': ['a@x.org', 'b@x.org'], 'name': 'ada'}}, 'user.emails.1')",
            ),
            19,
            "AssertionError: assert None == 'b@x.org'",
        ),
        repro="python -c \"from nestget.dig import dig; print(dig({'user': {'emails': ['a@x.org']}}, 'user.emails.0'))\"",
        repro_bad="None",
        repro_bad_exit=0,
        repro_good="a@x.org",
        wrong_new=(
            "        if key.isdigit():\n            key = int(key)\n        try:\n            current = current[key]\n"
            "        except (KeyError, TypeError):\n            return default\n"
        ),
        wrong_failure=Failure(
            "test_list_index",
            '    assert dig(DATA, "user.emails.-1") == "b@x.org"',
            ("AssertionError: assert None == 'b@x.org'",),
            20,
            "AssertionError: assert None == 'b@x.org'",
        ),
        broken_new=(
            '        if isinstance(current, list) and key.lstrip("-").isdigit()\n            key = int(key)\n'
            "        try:\n            current = current[key]\n        except (KeyError, IndexError, TypeError):\n"
            "            return default\n"
        ),
        syntax_error='E     File "/testbed/nestget/dig.py", line 8\nE       if isinstance(current, list) and key.lstrip("-").isdigit()\nE                                                                  ^\nE   SyntaxError: expected \':\'',
        tamper_old='    assert dig(DATA, "user.emails.1") == "b@x.org"\n    assert dig(DATA, "user.emails.-1") == "b@x.org"\n',
        tamper_new='    assert dig(DATA, "user.emails") is not None\n',
        grep='grep -rn "def dig" -A3 nestget/',
        grep_out='nestget/dig.py:4:def dig(data, path, default=None):\nnestget/dig.py-5-    """Follow a dotted ``path`` ("user.emails.0") through nested dicts and lists."""\nnestget/dig.py-6-    current = data\nnestget/dig.py-7-    for key in path.split("."):',
        bug="list indices in dotted paths being ignored",
        domain="python-bugfix/data-access",
        other_files=("nestget/__init__.py", "nestget/set.py"),
    ),
    Scenario(
        key="money-split",
        repo="ledger",
        module="ledger/money.py",
        test_path="tests/test_money.py",
        func="split_amount",
        title="split_amount(10, 3) loses a cent",
        issue=_d("""
            Splitting a bill of 10.00 three ways gives `[3.33, 3.33, 3.33]`, which adds up to 9.99. The shares
            must always add up to the total; the extra cents should go to the first shares.
            """),
        source=_d('''
            """Money helpers (amounts are decimal numbers with two places)."""


            def split_amount(total, parts):
                """Split ``total`` into ``parts`` shares that add up to it."""
                if parts <= 0:
                    raise ValueError("parts must be positive")
                share = round(total / parts, 2)
                return [share] * parts


            def fmt(amount):
                return f"{amount:,.2f}"
            '''),
        old="    share = round(total / parts, 2)\n    return [share] * parts\n",
        new=(
            "    cents = round(total * 100)\n    base, extra = divmod(cents, parts)\n"
            "    return [(base + (1 if i < extra else 0)) / 100 for i in range(parts)]\n"
        ),
        tests=_d("""
            import pytest

            from ledger.money import fmt, split_amount


            def test_even_split():
                assert split_amount(9, 3) == [3.0, 3.0, 3.0]


            def test_one_part():
                assert split_amount(12.5, 1) == [12.5]


            def test_zero_parts():
                with pytest.raises(ValueError):
                    split_amount(1, 0)


            def test_fmt():
                assert fmt(1234.5) == "1,234.50"
            """),
        n_tests=4,
        regression=_d("""


            def test_shares_add_up():
                shares = split_amount(10, 3)
                assert shares == [3.34, 3.33, 3.33]
                assert round(sum(shares), 2) == 10
            """),
        reg_name="test_shares_add_up",
        reg_failure=Failure(
            "test_shares_add_up",
            "    assert shares == [3.34, 3.33, 3.33]",
            ("assert [3.33, 3.33, 3.33] == [3.34, 3.33, 3.33]", "  At index 0 diff: 3.33 != 3.34"),
            24,
            "assert [3.33, 3.33, 3.33] == [3.34, 3.33, 3.33]",
        ),
        repro='python -c "from ledger.money import split_amount; s = split_amount(10, 3); print(s, round(sum(s), 2))"',
        repro_bad="[3.33, 3.33, 3.33] 9.99",
        repro_bad_exit=0,
        repro_good="[3.34, 3.33, 3.33] 10.0",
        wrong_new="    share = round(total / parts, 2)\n    return [share] * (parts - 1) + [total - share * (parts - 1)]\n",
        wrong_failure=Failure(
            "test_shares_add_up",
            "    assert shares == [3.34, 3.33, 3.33]",
            ("assert [3.33, 3.33, 3.3400000000000007] == [3.34, 3.33, 3.33]", "  At index 0 diff: 3.33 != 3.34"),
            24,
            "assert [3.33, 3.33, 3.3400000000000007] == [3.34, 3.33, 3.33]",
        ),
        broken_new="    cents = round(total * 100)\n    base, extra = divmod(cents, parts)\n    return [(base + (1 if i < extra else 0)) / 100 for i in range(parts)\n",
        syntax_error="E     File \"/testbed/ledger/money.py\", line 10\nE       return [(base + (1 if i < extra else 0)) / 100 for i in range(parts)\nE              ^\nE   SyntaxError: '[' was never closed",
        tamper_old="    assert shares == [3.34, 3.33, 3.33]\n    assert round(sum(shares), 2) == 10\n",
        tamper_new="    assert len(shares) == 3\n",
        grep='grep -rn "split_amount" --include=*.py .',
        grep_out="./ledger/money.py:4:def split_amount(total, parts):\n./ledger/bills.py:18:    shares = split_amount(bill.total, len(bill.people))\n./tests/test_money.py:3:from ledger.money import fmt, split_amount",
        bug="split shares not adding up to the total",
        domain="python-bugfix/numeric-rounding",
        other_files=("ledger/__init__.py", "ledger/bills.py"),
    ),
    Scenario(
        key="cli-verbosity",
        repo="syncer",
        module="syncer/cli.py",
        test_path="tests/test_cli.py",
        func="build_parser",
        title="syncer crashes without -v: TypeError in log_level",
        issue=_d("""
            Running `syncer src dst` without `-v` crashes:

            ```
            TypeError: '>' not supported between instances of 'NoneType' and 'int'
            ```
            """),
        source=_d('''
            """Command line of syncer."""
            import argparse
            import logging


            def build_parser():
                parser = argparse.ArgumentParser(prog="syncer")
                parser.add_argument("source")
                parser.add_argument("target")
                parser.add_argument("-v", "--verbose", action="count")
                return parser


            def log_level(verbose):
                """Map ``-v`` repetitions to a logging level."""
                if verbose > 1:
                    return logging.DEBUG
                if verbose == 1:
                    return logging.INFO
                return logging.WARNING


            def main(argv=None):
                args = build_parser().parse_args(argv)
                logging.basicConfig(level=log_level(args.verbose))
                return 0
            '''),
        old='    parser.add_argument("-v", "--verbose", action="count")\n',
        new='    parser.add_argument("-v", "--verbose", action="count", default=0)\n',
        tests=_d("""
            import logging

            from syncer.cli import build_parser, log_level, main


            def test_one_v():
                assert log_level(build_parser().parse_args(["a", "b", "-v"]).verbose) == logging.INFO


            def test_two_v():
                assert log_level(build_parser().parse_args(["a", "b", "-vv"]).verbose) == logging.DEBUG


            def test_main_verbose():
                assert main(["a", "b", "-v"]) == 0
            """),
        n_tests=3,
        regression=_d("""


            def test_main_without_verbose():
                assert main(["a", "b"]) == 0
                assert log_level(build_parser().parse_args(["a", "b"]).verbose) == logging.WARNING
            """),
        reg_name="test_main_without_verbose",
        reg_failure=Failure(
            "test_main_without_verbose",
            "    if verbose > 1:",
            ("TypeError: '>' not supported between instances of 'NoneType' and 'int'",),
            16,
            "TypeError: '>' not supported between instances of 'NoneType' and 'int'",
            kind="TypeError",
        ),
        repro="python -m syncer.cli src dst; echo exit=$?",
        repro_bad=_d("""
            Traceback (most recent call last):
              File "<frozen runpy>", line 198, in _run_module_as_main
              File "/testbed/syncer/cli.py", line 25, in main
                logging.basicConfig(level=log_level(args.verbose))
                                          ^^^^^^^^^^^^^^^^^^^^^^^
              File "/testbed/syncer/cli.py", line 16, in log_level
                if verbose > 1:
                   ^^^^^^^^^^^
            TypeError: '>' not supported between instances of 'NoneType' and 'int'
            exit=1
            """).rstrip(),
        repro_bad_exit=0,
        repro_good="exit=0",
        wrong_new='    parser.add_argument("-v", "--verbose", action="store_true")\n',
        wrong_failure=Failure(
            "test_two_v",
            '    assert log_level(build_parser().parse_args(["a", "b", "-vv"]).verbose) == logging.DEBUG',
            ("assert 20 == 10", " +  where 20 = log_level(True)"),
            12,
            "assert 20 == 10",
        ),
        broken_new='    parser.add_argument("-v", "--verbose", action="count", default=0\n',
        syntax_error='E     File "/testbed/syncer/cli.py", line 10\nE       parser.add_argument("-v", "--verbose", action="count", default=0\nE                          ^\nE   SyntaxError: \'(\' was never closed',
        tamper_old='    assert main(["a", "b"]) == 0\n    assert log_level(build_parser().parse_args(["a", "b"]).verbose) == logging.WARNING\n',
        tamper_new='    assert build_parser().parse_args(["a", "b"]).source == "a"\n',
        grep='grep -rn "verbose" syncer/',
        grep_out='syncer/cli.py:10:    parser.add_argument("-v", "--verbose", action="count")\nsyncer/cli.py:14:def log_level(verbose):\nsyncer/cli.py:16:    if verbose > 1:\nsyncer/cli.py:18:    if verbose == 1:\nsyncer/cli.py:25:    logging.basicConfig(level=log_level(args.verbose))',
        bug="the crash when -v is not given",
        domain="python-bugfix/cli",
        other_files=("syncer/__init__.py", "syncer/sync.py", "syncer/__main__.py"),
    ),
    Scenario(
        key="truncate",
        repo="strkit",
        module="strkit/shorten.py",
        test_path="tests/test_shorten.py",
        func="truncate",
        title="truncate() returns strings longer than width",
        issue=_d("""
            `truncate("hello world", 8)` returns `"hello wo…"`, which is 9 characters. The result must never be
            longer than `width`, placeholder included; table columns overflow because of this.
            """),
        source=_d('''
            """Shorten strings for fixed-width display."""


            def truncate(text, width, placeholder="…"):
                """Shorten ``text`` to at most ``width`` characters, ending with ``placeholder`` when cut."""
                if len(text) <= width:
                    return text
                return text[:width] + placeholder
            '''),
        old="    return text[:width] + placeholder\n",
        new="    return text[: max(width - len(placeholder), 0)] + placeholder\n",
        tests=_d("""
            from strkit.shorten import truncate


            def test_short_unchanged():
                assert truncate("abc", 5) == "abc"


            def test_exact_width():
                assert truncate("abcde", 5) == "abcde"


            def test_cut_has_placeholder():
                assert truncate("hello world", 8).endswith("…")
            """),
        n_tests=3,
        regression=_d("""


            def test_never_longer_than_width():
                assert truncate("hello world", 8) == "hello w…"
                assert truncate("hello world", 8, placeholder="...") == "hello..."
                assert all(len(truncate("x" * 20, w)) <= w for w in range(1, 20))
            """),
        reg_name="test_never_longer_than_width",
        reg_failure=Failure(
            "test_never_longer_than_width",
            '    assert truncate("hello world", 8) == "hello w…"',
            ("AssertionError: assert 'hello wo…' == 'hello w…'", "  - hello w…", "  + hello wo…"),
            18,
            "AssertionError: assert 'hello wo…' == 'hello w…'",
        ),
        repro="python -c \"from strkit.shorten import truncate; s = truncate('hello world', 8); print(repr(s), len(s))\"",
        repro_bad="'hello wo…' 9",
        repro_bad_exit=0,
        repro_good="'hello w…' 8",
        wrong_new="    return text[:width - 1] + placeholder\n",
        wrong_failure=Failure(
            "test_never_longer_than_width",
            '    assert truncate("hello world", 8, placeholder="...") == "hello..."',
            ("AssertionError: assert 'hello w...' == 'hello...'",),
            19,
            "AssertionError: assert 'hello w...' == 'hello...'",
        ),
        broken_new="    return text[: max(width - len(placeholder), 0] + placeholder\n",
        syntax_error="E     File \"/testbed/strkit/shorten.py\", line 8\nE       return text[: max(width - len(placeholder), 0] + placeholder\nE                                                    ^\nE   SyntaxError: closing parenthesis ']' does not match opening parenthesis '('",
        tamper_old='    assert truncate("hello world", 8) == "hello w…"\n    assert truncate("hello world", 8, placeholder="...") == "hello..."\n    assert all(len(truncate("x" * 20, w)) <= w for w in range(1, 20))\n',
        tamper_new='    assert truncate("hello world", 8).startswith("hello")\n',
        grep='grep -rn "truncate(" --include=*.py .',
        grep_out='./strkit/shorten.py:4:def truncate(text, width, placeholder="…"):\n./strkit/table.py:40:        cells.append(truncate(str(value), widths[i]).ljust(widths[i]))\n./tests/test_shorten.py:5:    assert truncate("abc", 5) == "abc"',
        bug="truncated strings overflowing their width",
        domain="python-bugfix/strings",
        other_files=("strkit/__init__.py", "strkit/table.py"),
    ),
    Scenario(
        key="email-dedupe",
        repo="contacts",
        module="contacts/emails.py",
        test_path="tests/test_emails.py",
        func="normalize",
        title="dedupe() keeps 'A@x.com' and 'a@X.com '",
        issue=_d("""
            The contact import keeps duplicates that differ only by case or surrounding spaces:
            `dedupe(["A@x.com", "a@X.com "])` returns both. Addresses should compare case-insensitively and
            ignore surrounding whitespace.
            """),
        source=_d('''
            """E-mail address helpers."""


            def normalize(email):
                """Canonical form of an address for comparisons."""
                local, _, domain = email.partition("@")
                return f"{local}@{domain}"


            def dedupe(emails):
                """Drop repeated addresses, keeping the first spelling."""
                seen, out = set(), []
                for email in emails:
                    key = normalize(email)
                    if key not in seen:
                        seen.add(key)
                        out.append(email)
                return out
            '''),
        old='    local, _, domain = email.partition("@")\n    return f"{local}@{domain}"\n',
        new='    local, _, domain = email.strip().partition("@")\n    return f"{local.lower()}@{domain.lower()}"\n',
        tests=_d("""
            from contacts.emails import dedupe, normalize


            def test_normalize_plain():
                assert normalize("bob@example.org") == "bob@example.org"


            def test_dedupe_exact():
                assert dedupe(["a@x.com", "a@x.com", "b@x.com"]) == ["a@x.com", "b@x.com"]


            def test_keeps_order():
                assert dedupe(["b@x.com", "a@x.com"]) == ["b@x.com", "a@x.com"]
            """),
        n_tests=3,
        regression=_d("""


            def test_case_and_space_insensitive():
                assert normalize(" A@X.com ") == "a@x.com"
                assert dedupe(["A@x.com", "a@X.com "]) == ["A@x.com"]
            """),
        reg_name="test_case_and_space_insensitive",
        reg_failure=Failure(
            "test_case_and_space_insensitive",
            '    assert normalize(" A@X.com ") == "a@x.com"',
            ("AssertionError: assert ' A@X.com ' == 'a@x.com'",),
            17,
            "AssertionError: assert ' A@X.com ' == 'a@x.com'",
        ),
        repro="python -c \"from contacts.emails import dedupe; print(dedupe(['A@x.com', 'a@X.com ']))\"",
        repro_bad="['A@x.com', 'a@X.com ']",
        repro_bad_exit=0,
        repro_good="['A@x.com']",
        wrong_new='    local, _, domain = email.partition("@")\n    return f"{local}@{domain.lower()}"\n',
        wrong_failure=Failure(
            "test_case_and_space_insensitive",
            '    assert normalize(" A@X.com ") == "a@x.com"',
            ("AssertionError: assert ' A@x.com ' == 'a@x.com'",),
            17,
            "AssertionError: assert ' A@x.com ' == 'a@x.com'",
        ),
        broken_new='    local, _, domain = email.strip().partition("@")\n    return f"{local.lower()}@{domain.lower()}\n',
        syntax_error='E     File "/testbed/contacts/emails.py", line 7\nE       return f"{local.lower()}@{domain.lower()}\nE              ^\nE   SyntaxError: unterminated f-string literal (detected at line 7)',
        tamper_old='    assert normalize(" A@X.com ") == "a@x.com"\n    assert dedupe(["A@x.com", "a@X.com "]) == ["A@x.com"]\n',
        tamper_new='    assert dedupe(["A@x.com", "a@X.com "])\n',
        grep='grep -rn "normalize" --include=*.py .',
        grep_out='./contacts/emails.py:4:def normalize(email):\n./contacts/emails.py:14:        key = normalize(email)\n./contacts/importer.py:52:    rows = dedupe(r["email"] for r in rows)\n./tests/test_emails.py:1:from contacts.emails import dedupe, normalize',
        bug="duplicate addresses differing only in case or spaces",
        domain="python-bugfix/normalization",
        other_files=("contacts/__init__.py", "contacts/importer.py"),
    ),
]

assert len({s.key for s in SCENARIOS}) == len(SCENARIOS) == 12
for _s in SCENARIOS:
    assert _s.source.count(_s.old) == 1, _s.key
    assert _s.regression.count(_s.tamper_old) == 1, _s.key
