"""The README's tour must run as written."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, str(README), "exec"), {})


def test_readme_opens_with_the_two_commands():
    text = README.read_text()
    assert "pip install -e . && cs demo" in text
    command = "pip install torch==2.13.0 && pip install -e '.[test,distributed,torch]' && python -m pytest"
    assert command in text
    # CI runs exactly the README's test command, step by step
    ci = (README.parent / ".ci" / "run").read_text()
    for step in command.split(" && "):
        assert f"python -m {step}" in ci or step in ci
