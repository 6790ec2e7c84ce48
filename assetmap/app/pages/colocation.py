"""A script for st.navigation: the page is assetmap.app.colocation_page."""

from assetmap.app import colocation_page

colocation_page.render()
