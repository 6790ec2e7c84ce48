"""assetmap's web app: ``streamlit run streamlit_app.py``. The pages live in assetmap/app/."""

import streamlit as st

from assetmap.app import map_page

# No page icons: Streamlit fetches Material icons for the favicon from the internet.
st.set_page_config(page_title="assetmap", layout="wide")
page = st.navigation([st.Page(map_page.render, title="Map", url_path="map", default=True)])
page.run()
