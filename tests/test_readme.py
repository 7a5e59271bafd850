"""The README's short tour runs as written (its Python blocks in turn, as one script)."""

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_tour_runs(tmp_path):
    text = README.read_text(encoding="utf-8")
    tour = text.split("## A short tour\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```python\n(.*?)^```$", tour, re.S | re.M)
    assert len(blocks) == 2
    script = tmp_path / "tour.py"
    script.write_text("\n".join(blocks), encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, "-W", "error", str(script)], capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 0, completed.stderr[-3000:]


def test_guide_links_point_at_pages_that_exist():
    text = README.read_text(encoding="utf-8")
    links = re.findall(r"\]\((docs/[^)#]+)\)", text)
    assert len(links) >= 13
    for link in links:
        assert (README.parent / link).exists(), link
