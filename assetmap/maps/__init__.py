"""Maps of the estate: the shared style, escaping, interactive (folium) maps."""
