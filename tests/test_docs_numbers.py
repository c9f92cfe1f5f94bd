"""The measured numbers in the README and the docs equal the results files they come from.

Numbers and tables of measurements sit between ``<!-- results: NAME -->`` and
``<!-- /results -->``; ``benchmarks/sync_docs.py`` generates each block's text from
``benchmarks/results/``. A block that differs (a number edited by hand, or a results file
updated without running ``python benchmarks/sync_docs.py``) fails here.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("sync_docs", ROOT / "benchmarks" / "sync_docs.py")
sync_docs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sync_docs)

BLOCKS = [(page, name, body) for page in sync_docs.pages()
          for name, body in sync_docs.blocks(page.read_text())]


def _id(block) -> str:
    page, name, _ = block
    return f"{page.relative_to(ROOT)}:{name}"


def test_blocks_found():
    """The pages that quote measurements hold blocks (none was dropped by accident)."""
    names = {(p.relative_to(ROOT).as_posix(), n) for p, n, _ in BLOCKS}
    for expected in [("README.md", "flagship_time"), ("README.md", "flagship_seed0"),
                     ("docs/results.md", "yinyang_seeds"),
                     ("docs/results.md", "hardware_robustness"),
                     ("docs/checks.md", "validation_cost"),
                     ("docs/speed.md", "yinyang_speed"), ("docs/speed.md", "shd_scale")]:
        assert expected in names, expected


def test_every_generator_is_used():
    assert {n for _, n, _ in BLOCKS} == set(sync_docs.GENERATORS)


@pytest.mark.parametrize("block", BLOCKS, ids=[_id(b) for b in BLOCKS])
def test_block_equals_results_file(block):
    page, name, body = block
    assert name in sync_docs.GENERATORS, f"{_id(block)}: unknown results block"
    assert body == sync_docs.render(name), (
        f"{_id(block)} differs from its results file; run `python benchmarks/sync_docs.py`")


def test_markers_pair_up():
    """Every opening marker has its closing one (an unclosed block would escape the check)."""
    for page in sync_docs.pages():
        text = page.read_text()
        opened, closed = sync_docs.markers(text)
        assert opened == closed == len(sync_docs.blocks(text)), page


@pytest.mark.parametrize("copy", sorted(sync_docs.COPIES))
def test_copied_figure_equals_results_file(copy):
    source = sync_docs.COPIES[copy]
    assert (ROOT / copy).read_bytes() == (ROOT / source).read_bytes(), (
        f"{copy} differs from {source}; run `python benchmarks/sync_docs.py`")
