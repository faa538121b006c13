"""The README's generated tables match the code, and it opens with the two quick-start commands."""

from __future__ import annotations

from studio.docs import README, render


def test_readme_tables_are_up_to_date() -> None:
    text = README.read_text(encoding="utf-8")
    assert render(text) == text, "README tables are out of date: run `python -m studio.docs`"


def test_readme_opens_with_the_run_and_test_commands() -> None:
    lines = [line for line in README.read_text(encoding="utf-8").splitlines() if line.strip()]
    block = lines[lines.index("```bash") + 1 : lines.index("```bash") + 3]
    assert block[0].startswith("pip install -e . && python app.py")
    assert block[1].startswith('pip install -e ".[test]" && python -m pytest')
