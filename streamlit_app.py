"""assetmap's web app: ``streamlit run streamlit_app.py``. The pages live in assetmap/app/."""

import streamlit as st

from assetmap.app import auth, shell
from assetmap.app.navigation import pages

# No page icons: Streamlit fetches Material icons for the favicon from the internet.
st.set_page_config(page_title="assetmap", layout="wide")
# A secrets file that cannot be read or parsed, or an incomplete [auth] section, stops the
# app with a page saying why: it never runs without sign-in when sign-in was meant to be on.
auth.stop_if_secrets_broken()
if auth.current_viewer() is None:  # sign-in is configured and nobody has signed in yet
    auth.sign_in_page()
    st.stop()
page = st.navigation(pages())
shell.sidebar()  # drawn here, before the page, so the place and filters survive page changes
page.run()
