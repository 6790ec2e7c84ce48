"""Read agencies' property registers, check every row, and import them into the store.

:mod:`~assetmap.registers.read` reads a file as text; :mod:`~assetmap.registers.columns`
recognises what its columns mean; :mod:`~assetmap.registers.locate` places each row;
the checks (:mod:`~assetmap.registers.site_checks`,
:mod:`~assetmap.registers.request_checks`) split the rows into canonical rows and
quarantine; :mod:`~assetmap.registers.importer` runs them all and stores the result.
"""
