"""The architecture diagrams: the draw.io file opens (valid, uncompressed mxGraph XML, one page
per diagram, every edge between shapes of its page) and the five Mermaid copies in the governance
document say the same; the lifecycle diagrams show exactly the states the models define."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from execution.models import JobStatus
from registry.models import PluginState
from tests.docs.markdown import REPO_ROOT, document

DRAWIO = REPO_ROOT / "docs" / "design" / "execution-architecture.drawio"
GOVERNANCE = "docs/design/execution-governance.md"
PAGES = [
    "Execution flow",
    "Job lifecycle",
    "Plugin lifecycle",
    "Error envelope flow",
    "Scanner and CI enforcement",
]
LAYERS = [
    "API",
    "AnalysisExecutionService",
    "JobExecutionService",
    "PluginExecutionService",
    "ToolRunner",
    "Plugin",
]


def _pages() -> dict[str, ET.Element]:
    root = ET.parse(DRAWIO).getroot()
    assert root.tag == "mxfile"
    return {diagram.get("name", ""): diagram for diagram in root.findall("diagram")}


def _labels(page: ET.Element) -> list[str]:
    """The text of every shape, tags and entities resolved, in document order."""
    labels = []
    for cell in page.iter("mxCell"):
        if cell.get("vertex") == "1" and cell.get("value"):
            text = re.sub(r"<br\s*/?>", "\n", cell.get("value", ""))
            labels.append(re.sub(r"<[^>]+>", "", text).replace("&nbsp;", " "))
    return labels


def _words(texts: list[str]) -> set[str]:
    return {word for text in texts for word in re.findall(r"[A-Z][A-Z_]{3,}", text)}


def test_the_drawio_file_has_the_five_pages_in_order() -> None:
    assert list(_pages()) == PAGES


@pytest.mark.parametrize("name", PAGES)
def test_each_page_is_an_uncompressed_graph_whose_edges_join_its_shapes(name: str) -> None:
    page = _pages()[name]
    models = page.findall("mxGraphModel")
    assert len(models) == 1, "draw.io stores a compressed page as text; this one must be XML"
    cells = list(models[0].iter("mxCell"))
    ids = [cell.get("id") for cell in cells]
    assert len(ids) == len(set(ids)), "cell ids repeat"
    assert ids[:2] == ["0", "1"]  # draw.io's root cell and its default layer
    vertices = {cell.get("id") for cell in cells if cell.get("vertex") == "1"}
    edges = [cell for cell in cells if cell.get("edge") == "1"]
    assert len(vertices) >= 3
    assert edges
    for cell in cells[2:]:
        assert cell.get("parent") in ids, f"cell {cell.get('id')} has no parent on the page"
        assert cell.find("mxGeometry") is not None, f"cell {cell.get('id')} has no geometry"
    for edge in edges:
        assert {edge.get("source"), edge.get("target")} <= vertices, f"edge {edge.get('id')}"


def test_the_execution_flow_shows_every_layer_in_order() -> None:
    labels = [label.split("\n", 1)[0].strip() for label in _labels(_pages()["Execution flow"])]
    layers = [label for label in labels if label in LAYERS]
    assert layers == LAYERS


def test_the_lifecycle_pages_show_the_models_states_and_no_other_vocabulary() -> None:
    pages = _pages()
    jobs, plugins = set(JobStatus.values), set(PluginState.values)
    job_words = _words(_labels(pages["Job lifecycle"]))
    assert jobs <= job_words
    assert job_words & (plugins - jobs) == set()
    plugin_words = _words(_labels(pages["Plugin lifecycle"]))
    assert plugins <= plugin_words
    # SUCCESS and ERROR are metrics, never plugin states; PENDING is a job's.
    assert plugin_words & ({"ERROR"} | jobs - plugins) == set()


def _mermaid() -> dict[str, str]:
    """The Mermaid blocks by name: each opens with a comment naming its draw.io page."""
    blocks = document(GOVERNANCE).code_blocks("mermaid")
    named = {block.splitlines()[0].removeprefix("%%").strip(): block for block in blocks}
    assert len(named) == len(blocks), "two Mermaid blocks have the same name"
    return named


def test_the_governance_document_has_the_same_five_diagrams_in_mermaid() -> None:
    assert sorted(_mermaid()) == sorted(PAGES)


def _mermaid_states(block: str) -> set[str]:
    """The states of a stateDiagram: every name on either side of a transition."""
    return {name for pair in _mermaid_transitions(block) for name in pair} - {"[*]"}


def _mermaid_transitions(block: str) -> set[tuple[str, str]]:
    """``(from, to)`` of every transition; ``[*]`` is where a row starts or ends."""
    pairs = set()
    for line in block.splitlines():
        if "-->" in line:
            source, target = (side.strip() for side in line.split(":", 1)[0].split("-->"))
            pairs.add((source, target))
    return pairs


def _drawio_transitions(page: ET.Element) -> set[tuple[str, str]]:
    """``(from, to)`` of every edge, by the labels of its shapes; the unlabelled start is ``[*]``."""
    cells = list(page.iter("mxCell"))
    names = {c.get("id"): c.get("value") or "[*]" for c in cells if c.get("vertex") == "1"}
    edges = [cell for cell in cells if cell.get("edge") == "1"]
    return {(names[edge.get("source")], names[edge.get("target")]) for edge in edges}


@pytest.mark.parametrize("name", ["Job lifecycle", "Plugin lifecycle"])
def test_the_lifecycle_pages_and_their_mermaid_copies_have_the_same_transitions(name: str) -> None:
    # An end state's way out is Mermaid's alone: draw.io shows none.
    into_states = {pair for pair in _mermaid_transitions(_mermaid()[name]) if pair[1] != "[*]"}
    assert _drawio_transitions(_pages()[name]) == into_states


def test_the_mermaid_lifecycles_have_exactly_the_models_states() -> None:
    blocks = _mermaid()
    assert _mermaid_states(blocks["Job lifecycle"]) == set(JobStatus.values)
    assert _mermaid_states(blocks["Plugin lifecycle"]) == set(PluginState.values)
    # Node labels in the order the block defines them, each up to its first line break.
    heads = [head.strip() for head in re.findall(r'\["([^"<]+)', blocks["Execution flow"])]
    assert [head for head in heads if head in LAYERS] == LAYERS
