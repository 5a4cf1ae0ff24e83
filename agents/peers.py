"""The peer network among operators.

A networkx graph is built once from the scenario's generator; firms are laid out by region and
size band first, so a small-world ring links mostly firms alike in both. Each large fleet is also
linked to the micro firms that haul for it. The graph is then turned into a sparse adjacency
matrix: each operator's share of neighbours using a technology family is one sparse product.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import scipy.sparse as sp

from fleetsim.scenarios import Scenario, ScenarioError

MAX_COMPLETE = 5000  # a complete graph is for small test worlds


class PeerNetwork:
    """Edges between operators (by operator index) and the adjacency matrix built from them;
    `graph` gives the same network as a networkx Graph, built when first asked for."""

    def __init__(self, edges: np.ndarray, n: int, hauls_for: np.ndarray, complete: bool):
        self.edges = edges  # [edge, 2] operator indices
        self.n = n
        self.hauls_for = hauls_for  # for each operator, the large fleet it hauls for, or -1
        self.complete = complete
        self._graph: nx.Graph | None = None
        self._seen: np.ndarray | None = None  # the uses last seen, and their neighbour sums
        self._sums: np.ndarray | None = None
        rows = np.concatenate([edges[:, 0], edges[:, 1]])
        cols = np.concatenate([edges[:, 1], edges[:, 0]])
        self.adjacency = sp.csr_array((np.ones(len(rows)), (rows, cols)), shape=(n, n))
        self.adjacency.data[:] = 1.0  # a pair linked twice (peer and haulier) counts once
        self.degree = np.asarray(self.adjacency.sum(axis=1)).ravel()

    @property
    def graph(self) -> nx.Graph:
        if self._graph is None:
            g = nx.Graph()
            g.add_nodes_from(range(self.n))
            g.add_edges_from(self.edges.tolist())
            hauliers = np.flatnonzero(self.hauls_for >= 0)
            for a, b in zip(hauliers.tolist(), self.hauls_for[hauliers].tolist(), strict=True):
                g.edges[a, b]["hauls_for"] = True
            self._graph = g
        return self._graph

    def neighbour_share(self, uses: np.ndarray, changed_since_last: bool = False) -> np.ndarray:
        """[operator, family] share of each operator's neighbours using each family; uses is
        [operator, family] with weights (1 for a user, more for a demonstration fleet).

        With changed_since_last, the neighbour sums are updated from the operators whose uses
        changed since the previous call (few, month to month) instead of recomputed."""
        uses = np.asarray(uses, float)
        if self.complete:
            others = uses.sum(axis=0)[None, :] - uses
            return np.minimum(others / max(self.n - 1, 1), 1.0)
        if changed_since_last and self._sums is not None and self._seen.shape == uses.shape:
            moved = np.flatnonzero((uses != self._seen).any(axis=1))
            if len(moved):
                # the adjacency is symmetric: the rows of the movers are their neighbours
                self._sums += self.adjacency[moved].T @ (uses[moved] - self._seen[moved])
        else:
            self._sums = np.column_stack([self.adjacency @ uses[:, f]
                                          for f in range(uses.shape[1])])
        self._seen = uses.copy()
        deg = self.degree[:, None]
        return np.minimum(np.divide(self._sums, deg, out=np.zeros_like(self._sums),
                                    where=deg > 0), 1.0)


def build_network(spec: Scenario, band: np.ndarray, region: np.ndarray,
                  rng: np.random.Generator) -> PeerNetwork:
    net = spec.network
    n = len(band)
    seed = int(rng.integers(2**31 - 1))
    # lay firms out by region, then band, so ring neighbours are alike
    order = np.lexsort((rng.random(n), band, region))
    k = min(net.mean_degree, max(n - 1, 0))
    if net.generator == "complete":
        if n > MAX_COMPLETE:
            raise ScenarioError([f"network.generator: got 'complete' for {n} operators, "
                                 f"expected at most {MAX_COMPLETE} (use small_world or "
                                 "scale_free)"])
        g = nx.complete_graph(n)
    elif net.generator == "small_world":
        g = nx.watts_strogatz_graph(n, max(k, 2) if n > 2 else 0, net.rewire_probability,
                                    seed=seed)
    elif net.generator == "scale_free":
        g = nx.barabasi_albert_graph(n, max(1, min(k // 2, n - 1)), seed=seed) if n > 1 \
            else nx.empty_graph(n)
    else:
        g = nx.gnm_random_graph(n, n * k // 2, seed=seed)
    # generator nodes are layout positions; map them to operator indices
    edges = order[np.array(g.edges(), dtype=np.int64).reshape(-1, 2)]
    hauls_for = _haulage_links(band, region, net.hauliers_per_large_fleet, rng)
    hauliers = np.flatnonzero(hauls_for >= 0)
    edges = np.concatenate([edges, np.stack([hauliers, hauls_for[hauliers]], axis=1)])
    return PeerNetwork(edges, n, hauls_for, complete=net.generator == "complete")


def _haulage_links(band: np.ndarray, region: np.ndarray, per_large: int,
                   rng: np.random.Generator) -> np.ndarray:
    """Each large fleet (band 3) gets up to `per_large` micro firms (band 0) of its region that
    haul for it; each micro firm hauls for one large fleet at most."""
    hauls_for = np.full(len(band), -1, np.int64)
    if per_large == 0:
        return hauls_for
    for r in np.unique(region):
        large = np.flatnonzero((band == 3) & (region == r))
        micro = rng.permutation(np.flatnonzero((band == 0) & (region == r)))
        take = min(len(micro), per_large * len(large))
        owners = np.repeat(large, per_large)[:take]
        hauls_for[micro[:take]] = owners
    return hauls_for
