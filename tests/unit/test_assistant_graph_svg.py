"""The server-side drawing of a graph: every node and edge drawn, rows by distance from the start, labels escaped."""

from __future__ import annotations

import re

from assistants.graph_svg import graph_svg


def drawn(nodes: list[str], edges: list[tuple[str, str, bool]]) -> dict:
    return {
        "nodes": [{"id": node, "type": "runnable", "data": {"name": node}} for node in nodes],
        "edges": [{"source": s, "target": t, "conditional": c} for s, t, c in edges],
    }


def node_rows(svg: str) -> dict[str, float]:
    return {m[0]: float(m[1]) for m in re.findall(r'<g data-node="([^"]+)"><rect [^>]*y="([\d.]+)"', svg)}


def test_nodes_are_drawn_in_rows_by_their_distance_from_the_start():
    svg = graph_svg(
        drawn(
            ["__start__", "a", "b", "__end__"],
            [("__start__", "a", False), ("a", "b", False), ("b", "__end__", False), ("__start__", "__end__", True)],
        )
    )
    rows = node_rows(svg)
    assert rows["__start__"] < rows["a"] < rows["b"] < rows["__end__"]
    assert svg.count("<path class=") == 4 and svg.count('class="conditional"') == 1


def test_a_loop_back_does_not_break_the_layering():
    svg = graph_svg(
        drawn(
            ["__start__", "a", "b", "__end__"],
            [("__start__", "a", False), ("a", "b", False), ("b", "a", True), ("b", "__end__", True)],
        )
    )
    rows = node_rows(svg)
    assert rows["a"] < rows["b"] < rows["__end__"]
    assert 'data-edge="b->a"' in svg


def test_labels_are_escaped():
    svg = graph_svg(drawn(["__start__", "<script>"], [("__start__", "<script>", False)]))
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_an_empty_graph_is_an_empty_picture():
    assert graph_svg({"nodes": [], "edges": []}).startswith("<svg")
