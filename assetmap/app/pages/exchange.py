"""A script for st.navigation: the page is assetmap.app.exchange_page."""

from assetmap.app import exchange_page

exchange_page.render()
