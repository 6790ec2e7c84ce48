-- assetmap PostGIS store, schema version 2: the sites' key indexes in byte order, the
-- compact postcode as a column, and the sites of given ids found by an index.
--
-- An import checks each chunk's site ids against the estate (a site another source
-- already holds is a duplicate): an index lookup, not a read of every site. The keys
-- (ids, sources, UPRNs, compact postcodes) are only ever compared for equality, so
-- their indexes use the "C" collation: byte order costs the server a plain comparison
-- per step where a language's order (the database's, en_GB.UTF-8 or C.UTF-8) costs a
-- library call (a third of a million-row insert, in one experiment by hand). The
-- columns keep the database's collation (a partnership's own queries that join them to
-- their tables keep working); the store's queries name COLLATE "C" to use the indexes.
--
-- The compact postcode (spaces taken out) is a stored column, not an index on the
-- expression replace(postcode, ' ', ''): under row-level security the planner may look
-- a row up by an index only through operators that cannot leak (text equality can),
-- and replace() is not one of them, so the app's role could never use that index and
-- read every site to find the few of a postcode.
DROP INDEX sites_source;
CREATE INDEX sites_source ON sites (source_file COLLATE "C", source_owner COLLATE "C");
DROP INDEX sites_uprn;
CREATE INDEX sites_uprn ON sites (uprn COLLATE "C");
DROP INDEX sites_postcode;
ALTER TABLE sites ADD COLUMN postcode_key text
    GENERATED ALWAYS AS (replace(postcode, ' ', '')) STORED;
-- (as 0001: no statistics of the values, which EXPLAIN's estimates would tell)
ALTER TABLE sites ALTER COLUMN postcode_key SET STATISTICS 0;
CREATE INDEX sites_postcode ON sites (postcode_key COLLATE "C");
CREATE INDEX sites_site_id ON sites (site_id COLLATE "C");
