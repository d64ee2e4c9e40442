"""Helpers of the Streamlit app: maps, the workspace of saved runs, texts in two languages."""
