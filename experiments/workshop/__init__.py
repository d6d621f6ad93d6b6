"""`svsim workshop`: the what-if page for a room (page, a Solara app), the what-if engine behind
it (whatif) and its front-end files, fetched once and served offline (solara_assets)."""
