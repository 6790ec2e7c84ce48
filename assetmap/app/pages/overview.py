"""A script for st.navigation: the page is assetmap.app.overview_page."""

from assetmap.app import overview_page

overview_page.render()
