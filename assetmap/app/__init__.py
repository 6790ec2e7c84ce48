"""The Streamlit app: pages and cached state. The only package that imports streamlit."""
