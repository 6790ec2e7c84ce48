"""assetmap's web app: ``streamlit run streamlit_app.py``. The pages live in assetmap/app/."""

import streamlit as st

from assetmap.app import shell
from assetmap.app.navigation import pages

# No page icons: Streamlit fetches Material icons for the favicon from the internet.
st.set_page_config(page_title="assetmap", layout="wide")
page = st.navigation(pages())
shell.sidebar()  # drawn here, before the page, so the place and filters survive page changes
page.run()
