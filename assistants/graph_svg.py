"""An assistant's graph drawn as SVG on the server, so the admin page needs no JavaScript library or network.

The input is the drawable graph the API answers at /assistants/{id}/graph (`{"nodes", "edges"}`). Nodes are put
in rows by their longest distance from the start; loops back (a node returning to an earlier one) are drawn on
the right side; conditional edges are dashed. Pure functions, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any

ROW_HEIGHT, NODE_HEIGHT, GAP, MARGIN, CHAR_WIDTH = 76, 32, 24, 20, 7.5
TERMINALS = ("__start__", "__end__")


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    conditional: bool
    label: str


@dataclass(frozen=True)
class Box:
    x: float  # left
    y: float  # top
    width: float

    @property
    def center(self) -> float:
        return self.x + self.width / 2


def _edges(drawn: dict[str, Any], known: set[str]) -> list[Edge]:
    edges = []
    for edge in drawn.get("edges") or []:
        if edge.get("source") in known and edge.get("target") in known:
            label = edge.get("data") if isinstance(edge.get("data"), str) else ""
            edges.append(Edge(edge["source"], edge["target"], bool(edge.get("conditional")), label))
    return edges


def _back_edges(nodes: list[str], edges: list[Edge]) -> set[tuple[str, str]]:
    """Edges that close a cycle, found by a depth-first walk from the start (then from any node not reached)."""
    children: dict[str, list[str]] = {node: [] for node in nodes}
    for edge in edges:
        children[edge.source].append(edge.target)
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    back: set[tuple[str, str]] = set()
    for root in sorted(nodes, key=lambda node: node != "__start__"):
        stack = [(root, iter(children[root]))] if root not in state else []
        state.setdefault(root, 1)
        while stack:
            node, pending = stack[-1]
            child = next(pending, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state.get(child) == 1:
                back.add((node, child))
            elif child not in state:
                state[child] = 1
                stack.append((child, iter(children[child])))
    return back


def _rows(nodes: list[str], edges: list[Edge], back: set[tuple[str, str]]) -> list[list[str]]:
    """Longest-path layering of the graph without its back edges; the end node goes last."""
    depth = dict.fromkeys(nodes, 0)
    forward = [e for e in edges if (e.source, e.target) not in back]
    for _ in nodes:  # relax |nodes| times: enough for any acyclic graph
        for edge in forward:
            depth[edge.target] = max(depth[edge.target], depth[edge.source] + 1)
    others = [d for node, d in depth.items() if node != "__end__"]
    if "__end__" in depth and others:
        depth["__end__"] = max(depth["__end__"], max(others) + 1)
    rows: list[list[str]] = [[] for _ in range(max(depth.values(), default=0) + 1)]
    for node in nodes:
        rows[depth[node]].append(node)
    return [row for row in rows if row]


def _label(node: dict[str, Any]) -> str:
    data = node.get("data")
    name = data.get("name") if isinstance(data, dict) else None
    return str(name or node["id"])


def _place(rows: list[list[str]], labels: dict[str, str]) -> tuple[dict[str, Box], float]:
    widths = {node: max(70.0, CHAR_WIDTH * len(labels[node]) + 24) for row in rows for node in row}
    row_widths = [sum(widths[n] for n in row) + GAP * (len(row) - 1) for row in rows]
    canvas = max(row_widths, default=0) + 2 * MARGIN
    boxes = {}
    for index, row in enumerate(rows):
        x = (canvas - row_widths[index]) / 2
        for node in row:
            boxes[node] = Box(x, MARGIN + index * ROW_HEIGHT, widths[node])
            x += widths[node] + GAP
    return boxes, canvas


def _path(edge: Edge, boxes: dict[str, Box], back: bool) -> str:
    source, target = boxes[edge.source], boxes[edge.target]
    if edge.source == edge.target:  # a loop on itself, on the right
        x, y = source.x + source.width, source.y + NODE_HEIGHT / 2
        return f"M {x:.1f} {y - 8:.1f} C {x + 40:.1f} {y - 30:.1f}, {x + 40:.1f} {y + 30:.1f}, {x:.1f} {y + 8:.1f}"
    if back:  # up to an earlier row, around the right side
        x1, y1 = source.x + source.width, source.y + NODE_HEIGHT / 2
        x2, y2 = target.x + target.width, target.y + NODE_HEIGHT / 2
        bulge = max(x1, x2) + 60
        return f"M {x1:.1f} {y1:.1f} C {bulge:.1f} {y1:.1f}, {bulge:.1f} {y2:.1f}, {x2:.1f} {y2:.1f}"
    x1, y1 = source.center, source.y + NODE_HEIGHT
    x2, y2 = target.center, target.y
    bend = (y2 - y1) / 2
    return f"M {x1:.1f} {y1:.1f} C {x1:.1f} {y1 + bend:.1f}, {x2:.1f} {y2 - bend:.1f}, {x2:.1f} {y2:.1f}"


def _edge_svg(edge: Edge, boxes: dict[str, Box], back: bool) -> str:
    style = 'class="conditional" stroke-dasharray="5 4"' if edge.conditional else 'class="direct"'
    return (
        f'<path {style} fill="none" stroke="#999" stroke-width="1.5" marker-end="url(#arrow)" '
        f'data-edge="{escape(edge.source)}->{escape(edge.target)}" d="{_path(edge, boxes, back)}"/>'
    )


def _node_svg(node: str, label: str, box: Box) -> str:
    # Presentation attributes are the defaults; the admin's stylesheet overrides them (dark mode).
    if node in TERMINALS:
        rect, text, radius = 'class="terminal" fill="#417690" stroke="#417690"', 'class="terminal" fill="#fff"', 16
    else:
        rect, text, radius = 'fill="#f8f8f8" stroke="#417690"', 'fill="#333"', 6
    return (
        f'<g data-node="{escape(node)}"><rect {rect} x="{box.x:.1f}" y="{box.y:.1f}" width="{box.width:.1f}" '
        f'height="{NODE_HEIGHT}" rx="{radius}"/><text {text} x="{box.center:.1f}" y="{box.y + 20:.1f}" '
        f'text-anchor="middle" font-family="sans-serif" font-size="12">{escape(label)}</text></g>'
    )


def graph_svg(drawn: dict[str, Any]) -> str:
    """The SVG markup of a drawable graph; every label escaped."""
    nodes_json = [node for node in drawn.get("nodes") or [] if isinstance(node, dict) and "id" in node]
    nodes = [str(node["id"]) for node in nodes_json]
    labels = {str(node["id"]): _label(node) for node in nodes_json}
    edges = _edges(drawn, set(nodes))
    back = _back_edges(nodes, edges)
    boxes, width = _place(_rows(nodes, edges, back), labels)
    height = max((box.y for box in boxes.values()), default=0) + NODE_HEIGHT + MARGIN
    has_loops = any(e.source == e.target or (e.source, e.target) in back for e in edges)
    width += 80 if has_loops else 0
    paths = [_edge_svg(edge, boxes, (edge.source, edge.target) in back) for edge in edges]
    marker = (
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#999"/></marker></defs>'
    )
    body = "".join(paths) + "".join(_node_svg(node, labels[node], boxes[node]) for node in nodes)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="graph" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}">{marker}{body}</svg>'
    )
