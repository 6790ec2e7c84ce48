"""A script for st.navigation: the page is assetmap.app.registers_page."""

from assetmap.app import registers_page

registers_page.render()
