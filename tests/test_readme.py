"""The README's rule index stays true as code moves: every module, function and test
file it names exists, and every rule of rules.md R1–R19 has its row."""

import importlib
import re
from pathlib import Path

from django.conf import settings

README = Path(settings.BASE_DIR) / "README.md"


def index_rows():
    text = README.read_text(encoding="utf-8")
    section = text.split("## Rule index", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| R")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]


def test_every_rule_has_one_row():
    assert [row[0].split()[0] for row in index_rows()] == [f"R{n}" for n in range(1, 20)]


def test_every_module_and_function_named_exists():
    named = 0
    for rule, enforced, _shown in index_rows():
        # `path/to/module.py`: `Name`, `Class.method`; … (several modules per cell)
        for module_path, names in re.findall(r"`([\w/]+\.py)`: ((?:`[\w.]+`(?:, )?)+)", enforced):
            assert (Path(settings.BASE_DIR) / module_path).is_file(), f"{rule}: {module_path}"
            module = importlib.import_module(module_path.removesuffix(".py").replace("/", "."))
            for name in re.findall(r"`([\w.]+)`", names):
                target = module
                for part in name.split("."):
                    assert hasattr(target, part), f"{rule}: {module_path} has no {name}"
                    target = getattr(target, part)
                named += 1
    assert named >= 30


def test_every_test_file_named_exists():
    for rule, _enforced, shown in index_rows():
        for path in re.findall(r"`(tests/[\w/]+\.py)`", shown):
            assert (Path(settings.BASE_DIR) / path).is_file(), f"{rule}: {path}"


def test_every_screenshot_shown_is_saved_by_the_browser_tests():
    text = README.read_text(encoding="utf-8")
    shown = re.findall(r"\]\((tests/e2e/screenshots/([\w-]+)\.png)\)", text)
    browser_tests = (Path(settings.BASE_DIR) / "tests" / "e2e" / "test_browser.py").read_text(
        encoding="utf-8"
    )
    assert len(shown) >= 6
    for path, name in shown:
        assert (Path(settings.BASE_DIR) / path).is_file(), path
        assert f'screenshot(page, "{name}")' in browser_tests, name
