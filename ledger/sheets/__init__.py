"""Officers' spreadsheets: reading CSV/xlsx, importing rows as statements, the xlsx report."""
