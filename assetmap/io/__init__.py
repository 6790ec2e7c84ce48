"""Reading and writing the data formats that are neither registers nor the store.

The engine's computation modules take and return frames; the files they are read from
and written to are handled here, as geopandas keeps its readers and writers in
``geopandas.io``. Registers are read by :mod:`assetmap.registers`, and the estate store
by :mod:`assetmap.store`.
"""

from .boundaries import read_boundary_file
from .outputs import write_csv, write_geopackage, write_table
from .population import read_population

__all__: list[str] = [
    "read_boundary_file",
    "read_population",
    "write_csv",
    "write_geopackage",
    "write_table",
]
