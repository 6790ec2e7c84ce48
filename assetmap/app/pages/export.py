"""A script for st.navigation: the page is assetmap.app.export_page."""

from assetmap.app import export_page

export_page.render()
