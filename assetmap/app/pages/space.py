"""A script for st.navigation: the page is assetmap.app.space_page."""

from assetmap.app import space_page

space_page.render()
