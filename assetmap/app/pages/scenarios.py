"""A script for st.navigation: the page is assetmap.app.scenarios_page."""

from assetmap.app import scenarios_page

scenarios_page.render()
