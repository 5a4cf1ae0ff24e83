"""fleetsim.experiments."""
