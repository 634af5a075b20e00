"""Editable content (YAML banks, catalogues, texts) and the pydantic schemas that validate it at start-up."""
