"""The peer network among operators: generators, haulage links, neighbour shares."""

from __future__ import annotations

import numpy as np
import pytest

from fleetsim.agents import build_operators
from fleetsim.agents.peers import MAX_COMPLETE, PeerNetwork, build_network
from fleetsim.scenarios import SIZE_BANDS, load
from fleetsim.sim import FleetModel
from fleetsim.sim.stock import class_counts

GENERATORS = ["small_world", "scale_free", "random", "complete"]
MICRO, LARGE = SIZE_BANDS.index("micro"), SIZE_BANDS.index("large")


def operators(spec, fraction=0.02, seed=1):
    n = int(class_counts(spec, fraction).sum())
    return build_operators(spec, n, fraction, np.random.default_rng(seed))


def check_adjacency(net: PeerNetwork) -> None:
    a = net.adjacency.toarray() if net.n <= 3000 else None
    if a is not None:
        np.testing.assert_array_equal(a, a.T)
        assert np.all(np.diag(a) == 0), "no one is their own peer"
        assert set(np.unique(a)) <= {0.0, 1.0}, "a pair is linked once"
        np.testing.assert_array_equal(net.degree, a.sum(axis=1))


@pytest.fixture(scope="module")
def city_ops():
    spec = load("mexico_city")
    return spec, operators(spec)


@pytest.mark.parametrize("generator", GENERATORS)
def test_each_generator_builds(city_ops, generator):
    spec, ops = city_ops
    spec = load(spec, {"network.generator": generator})
    net = build_network(spec, ops.band, ops.region, np.random.default_rng(2))
    n = len(ops)
    assert net.n == n and net.adjacency.shape == (n, n)
    assert net.complete == (generator == "complete")
    check_adjacency(net)
    g = net.graph
    assert g.number_of_nodes() == n
    assert 2 * g.number_of_edges() == net.adjacency.nnz
    k = spec.network.mean_degree
    if generator == "complete":
        np.testing.assert_array_equal(net.degree, n - 1)
    else:
        # the generator's links plus a few haulage links per large fleet
        hauliers = (net.hauls_for >= 0).sum()
        peers_mean = (net.adjacency.nnz - 2 * hauliers) / n
        assert k - 2 <= peers_mean <= k + 0.5, (generator, peers_mean)
        assert net.degree.max() < n / 4


def test_generators_differ_and_are_seeded(city_ops):
    spec, ops = city_ops
    nets = {g: build_network(load(spec, {"network.generator": g}), ops.band, ops.region,
                             np.random.default_rng(5)) for g in GENERATORS[:3]}
    degrees = {g: np.sort(net.degree) for g, net in nets.items()}
    # scale-free: a few hubs; small world: all alike
    assert degrees["scale_free"][-1] > 3 * degrees["small_world"][-1] / 2
    again = build_network(load(spec, {"network.generator": "small_world"}), ops.band,
                          ops.region, np.random.default_rng(5))
    np.testing.assert_array_equal(again.edges, nets["small_world"].edges)


def test_small_world_links_firms_alike():
    """Firms are laid out by region and band before the ring is drawn: most links join firms
    of the same region and band."""
    spec = load("mexico_national")
    ops = operators(spec, 0.01)
    net = build_network(spec, ops.band, ops.region, np.random.default_rng(3))
    hauliers = net.hauls_for >= 0
    peer_edges = net.edges[~np.isin(np.arange(len(net.edges)), np.flatnonzero(
        hauliers[net.edges[:, 0]] & (net.hauls_for[net.edges[:, 0]] == net.edges[:, 1])))]
    a, b = peer_edges[:, 0], peer_edges[:, 1]
    alike = (ops.region[a] == ops.region[b]) & (ops.band[a] == ops.band[b])
    assert alike.mean() > 0.7


@pytest.mark.parametrize("fraction", [0.02, 0.05])
def test_hauliers_link_to_large_fleets_of_their_region(fraction):
    spec = load("mexico_national")
    ops = operators(spec, fraction)
    net = build_network(spec, ops.band, ops.region, np.random.default_rng(4))
    per_large = spec.network.hauliers_per_large_fleet
    h = np.flatnonzero(net.hauls_for >= 0)
    boss = net.hauls_for[h]
    assert len(h) > 0
    assert np.all(ops.band[h] == MICRO), "hauliers are micro firms"
    assert np.all(ops.band[boss] == LARGE), "they haul for large fleets"
    assert np.all(ops.region[h] == ops.region[boss]), "of their own region"
    assert np.all(net.adjacency[h, boss] == 1), "and are their peers"
    for a, b in zip(h[:50], boss[:50], strict=True):
        assert net.graph.edges[a, b].get("hauls_for") is True
    assert np.bincount(boss).max() <= per_large
    for r in range(len(spec.regions)):
        micro = ((ops.band == MICRO) & (ops.region == r)).sum()
        large = ((ops.band == LARGE) & (ops.region == r)).sum()
        assert (ops.region[h] == r).sum() == min(micro, per_large * large), r


def test_no_hauliers_when_the_scenario_has_none(city_ops):
    spec, ops = city_ops
    net = build_network(load(spec, {"network.hauliers_per_large_fleet": 0}), ops.band,
                        ops.region, np.random.default_rng(4))
    assert (net.hauls_for == -1).all()


def test_complete_graph_over_the_limit_is_refused():
    spec = load("mexico_city", {"network.generator": "complete"})
    n = MAX_COMPLETE + 1
    band = np.zeros(n, np.int8)
    band[:10] = LARGE
    with pytest.raises(ValueError) as info:
        build_network(spec, band, np.zeros(n, np.int8), np.random.default_rng(1))
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("network.generator: got 'complete' for 5001 operators")
    assert "expected" in message and str(MAX_COMPLETE) in message


def test_complete_graph_is_refused_for_a_large_model():
    with pytest.raises(ValueError, match="network.generator: got 'complete'"):
        FleetModel("mexico_city", rng=1, sample_fraction=0.2,
                   overrides={"network.generator": "complete"})


# ---- neighbour shares ---------------------------------------------------------------------------

def tiny() -> PeerNetwork:
    """0 - 1 - 2 - 3, 1 - 3, and 4 alone; a haulage link 0 - 1 given twice."""
    edges = np.array([[0, 1], [1, 2], [2, 3], [1, 3], [1, 0]])
    return PeerNetwork(edges, 5, np.array([1, -1, -1, -1, -1]), complete=False)


def test_neighbour_share_by_hand():
    net = tiny()
    np.testing.assert_array_equal(net.degree, [1, 3, 2, 2, 0])
    # families: [diesel, electric]; firm 2 runs a demonstration (weight 5) of electric
    uses = np.array([[1, 0], [1, 1], [0, 5], [1, 0], [1, 1]], float)
    share = net.neighbour_share(uses)
    expected = np.array([
        [1 / 1, 1 / 1],  # 0 sees 1
        [(1 + 0 + 1) / 3, min((0 + 5 + 0) / 3, 1.0)],  # 1 sees 0, 2, 3
        [(1 + 1) / 2, min((1 + 0) / 2, 1.0)],  # 2 sees 1, 3
        [(0 + 1) / 2, min((5 + 1) / 2, 1.0)],  # 3 sees 2, 1
        [0.0, 0.0],  # 4 sees no one
    ])
    np.testing.assert_allclose(share, expected)
    assert share.min() >= 0 and share.max() <= 1


def test_neighbour_share_on_a_complete_graph_by_hand():
    n = 6
    edges = np.array([(a, b) for a in range(n) for b in range(a + 1, n)])
    net = PeerNetwork(edges, n, np.full(n, -1), complete=True)
    uses = np.array([[1], [0], [1], [0], [0], [3]], float)
    share = net.neighbour_share(uses)[:, 0]
    total = uses.sum()
    np.testing.assert_allclose(share, np.minimum((total - uses[:, 0]) / (n - 1), 1.0))
    assert share[1] == pytest.approx(5 / 5)
    assert share[0] == pytest.approx(4 / 5)
    assert share[5] == pytest.approx(2 / 5)


def test_incremental_neighbour_shares_match_a_full_recount():
    spec = load("mexico_city")
    ops = operators(spec)
    net = build_network(spec, ops.band, ops.region, np.random.default_rng(6))
    rng = np.random.default_rng(7)
    uses = (rng.random((len(ops), 3)) < 0.1).astype(float)
    net.neighbour_share(uses)
    for _ in range(12):
        flip = rng.choice(len(ops), 15, replace=False)
        uses[flip, rng.integers(0, 3, 15)] = rng.choice([0.0, 1.0, 5.0], 15)
        got = net.neighbour_share(uses, changed_since_last=True)
        fresh = PeerNetwork(net.edges, net.n, net.hauls_for, False).neighbour_share(uses)
        np.testing.assert_allclose(got, fresh, atol=1e-12)


def test_neighbour_shares_in_a_run_match_a_hand_count(small_model):
    """After ten years of monthly incremental updates, the model's view of its peers still
    equals a direct count over the adjacency matrix."""
    uses = small_model.uses()
    got = small_model.peers.neighbour_share(uses, changed_since_last=True)
    a = small_model.peers.adjacency
    deg = np.asarray(a.sum(axis=1)).ravel()[:, None]
    expected = np.minimum(np.divide(a @ uses, deg, out=np.zeros_like(uses), where=deg > 0), 1)
    np.testing.assert_allclose(got, expected, atol=1e-9)
    assert got.min() >= 0 and got.max() <= 1
    # somebody runs every family that exists in the fleet
    assert (uses > 0).any(axis=0).sum() >= 2
