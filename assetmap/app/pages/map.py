"""A script for st.navigation: the page is assetmap.app.map_page."""

from assetmap.app import map_page

map_page.render()
