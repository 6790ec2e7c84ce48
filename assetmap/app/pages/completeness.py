"""A script for st.navigation: the page is assetmap.app.completeness_page."""

from assetmap.app import completeness_page

completeness_page.render()
