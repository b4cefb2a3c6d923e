"""Places: the gazetteer of mainland Chinese cities and the GeoJSON form of a service network.

Pure data and conversions over the domain vocabulary: nothing here touches the store.
"""
