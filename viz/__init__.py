"""fleetsim.viz: the Solara workshop page (arrives with the web-page issue)."""
