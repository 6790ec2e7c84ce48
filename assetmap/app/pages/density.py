"""A script for st.navigation: the page is assetmap.app.density_page."""

from assetmap.app import density_page

density_page.render()
