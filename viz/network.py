"""A readable sample of the peer network: about a hundred firms found by walking out from a
well-connected one, laid out once, then recoloured each frame by the cleanest technology each
firm runs (so the picture fills in as adoption spreads)."""

from __future__ import annotations

import networkx as nx
import numpy as np

from fleetsim.sim import FleetModel


class NetworkSample:
    def __init__(self, model: FleetModel, size: int = 120, seed: int = 0):
        g = model.peers.graph  # a property
        start = int(np.argmax(model.peers.degree)) if len(model.peers.degree) else 0
        nodes: list[int] = []
        for node in nx.bfs_tree(g, start) if g.number_of_nodes() else []:
            nodes.append(node)
            if len(nodes) >= size:
                break
        self.nodes = np.array(nodes, dtype=np.int64)
        sub = g.subgraph(nodes)
        pos = nx.spring_layout(sub, seed=seed, iterations=60) if nodes else {}
        self.x = np.array([pos[n][0] for n in nodes])
        self.y = np.array([pos[n][1] for n in nodes])
        ex: list[float | None] = []
        ey: list[float | None] = []
        for a, b in sub.edges():
            ex += [pos[a][0], pos[b][0], None]
            ey += [pos[a][1], pos[b][1], None]
        self.edge_x, self.edge_y = ex, ey
        self.categories: list[str] = []
        self._year = -1
        self.update(model)

    def update(self, model: FleetModel) -> None:
        """Each sampled firm's category: 'zev' if it runs a zero-emission vehicle, else
        'soot_free' if it runs a soot-free one, else 'conventional'. Recomputed once per
        simulated year: reading the whole fleet each month would cost more than the month."""
        year = model.date.year
        if self.categories and year == self._year:
            return
        self._year = year
        fleet = model.fleet()
        rep = fleet["reported_technology"].cat.codes.to_numpy()
        owner = fleet["owner"].to_numpy()
        tables = model.tables
        n = len(model.operators)
        zev = np.bincount(owner, weights=tables.zev_reported[rep], minlength=n) > 0
        soot = np.bincount(owner, weights=tables.soot_free_reported[rep], minlength=n) > 0
        cat = np.where(zev, "zev", np.where(soot, "soot_free", "conventional"))
        self.categories = list(cat[self.nodes])
