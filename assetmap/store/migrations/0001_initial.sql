-- assetmap PostGIS store, schema version 1: the seven layers of the estate store
-- (assetmap/store/interface.py LAYOUT), the schema and store versions, the append-only
-- audit log, and row-level security. Run by the OWNER role in one transaction
-- (assetmap.store.postgis_schema); grants to the app role are made by init_store.
--
-- Every data table has `fid` (insertion order), and the rows of a source carry
-- `agency_key` (access.agency_key of the row's agency) and `owner_key` (of its
-- source_owner), computed in Python at write time.
--
-- Settings, set per transaction by the store with set_config(..., true):
--   assetmap.agency  the viewer's agency key ('' for none): what may be read;
--   assetmap.writer  the key of the owner a write transaction changes: what may be written;
--   assetmap.local   'on' for the local single user (not signed in), 'off' for a signed-in one.

CREATE TABLE schema_version (version integer NOT NULL);
CREATE TABLE store_version (counter bigint NOT NULL);
INSERT INTO store_version (counter) VALUES (0);

CREATE TABLE sites (
    fid bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    "site_id" text,
    "source_ref" text,
    "agency" text,
    "sector" text,
    "name" text,
    "address" text,
    "postcode" text,
    "uprn" text,
    "use" text,
    "use_class" text,
    "tenure" text,
    "tenure_detail" text,
    "floor_area_sqft" double precision,
    "floor_area_basis" text,
    "surplus_sqft" double precision,
    "running_cost_gbp" double precision,
    "lease_expiry" text,
    "sensitivity" text,
    "location_source" text,
    "location_precision" text,
    "shared_group" text,
    "source_file" text NOT NULL,
    "source_owner" text NOT NULL,
    "source_row" bigint,
    agency_key text NOT NULL,
    owner_key text NOT NULL,
    geom geometry(Point, 27700)
);

CREATE TABLE footprints (
    fid bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    "site_id" text,
    source_file text NOT NULL,
    source_owner text NOT NULL,
    -- the site's sensitivity and agency, copied onto its footprint (restricted until set)
    sensitivity text NOT NULL DEFAULT 'restricted',
    agency_key text NOT NULL DEFAULT '',
    owner_key text NOT NULL,
    geom geometry(MultiPolygon, 27700)
);

CREATE TABLE requests (
    fid bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    "request_id" text,
    "source_ref" text,
    "agency" text,
    "sector" text,
    "space_needed_sqft" double precision,
    "use" text,
    "use_class" text,
    "postcode" text,
    "locality" text,
    "max_distance_m" double precision,
    "needed_by" text,
    "sensitivity" text,
    "location_source" text,
    "location_precision" text,
    "source_file" text NOT NULL,
    "source_owner" text NOT NULL,
    "source_row" bigint,
    agency_key text NOT NULL,
    owner_key text NOT NULL,
    geom geometry(Point, 27700)
);

CREATE TABLE quarantine (
    fid bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    "source_file" text NOT NULL,
    "source_owner" text NOT NULL,
    "source_sha256" text,
    "kind" text,
    "row" bigint,
    "column" text,
    "value" text,
    "reason_code" text,
    "reason" text,
    "imported_at" text,
    owner_key text NOT NULL
);

CREATE TABLE imports (
    fid bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    "source_file" text NOT NULL,
    "source_owner" text NOT NULL,
    "source_sha256" text,
    "kind" text,
    "format" text,
    "layer" text,
    "agency" text,
    "sector" text,
    "imported_at" text,
    "rows_read" bigint,
    "accepted" bigint,
    "quarantined" bigint,
    "report_json" text,
    agency_key text NOT NULL,
    owner_key text NOT NULL
);

CREATE TABLE boundary_sets (
    fid bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    "set_name" text NOT NULL,
    "code" text,
    "name" text,
    "owner" text NOT NULL,
    owner_key text NOT NULL,
    geom geometry(MultiPolygon, 27700)
);

CREATE TABLE places (
    fid bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    "name" text NOT NULL,
    "level" text,
    "codes" text,
    "owner" text NOT NULL,
    owner_key text NOT NULL
);

CREATE TABLE audit_log (
    id bigserial PRIMARY KEY,
    time timestamptz NOT NULL DEFAULT now(),
    usr text NOT NULL,
    agency text,
    signed_in boolean NOT NULL,
    action text NOT NULL,
    what text NOT NULL,
    sha256 text NOT NULL DEFAULT '',
    counts jsonb NOT NULL DEFAULT '{}',
    agency_key text NOT NULL DEFAULT ''
);

-- Spatial indexes: SP-GiST (the space-partitioned GiST) for the points, which a million
-- rows enter several times faster than a GiST; GiST for the polygons.
CREATE INDEX sites_geom ON sites USING spgist (geom);
CREATE INDEX footprints_geom ON footprints USING gist (geom);
CREATE INDEX requests_geom ON requests USING spgist (geom);
CREATE INDEX boundary_sets_geom ON boundary_sets USING gist (geom);
-- a source's rows, which a re-import or removal deletes
CREATE INDEX sites_source ON sites (source_file, source_owner);
-- the shared-site peers of a change: the sites of the same UPRN or postcode
CREATE INDEX sites_uprn ON sites (uprn);
CREATE INDEX sites_postcode ON sites ((replace(postcode, ' ', '')));
CREATE INDEX footprints_source ON footprints (source_file, source_owner);
CREATE INDEX requests_source ON requests (source_file, source_owner);
CREATE INDEX quarantine_source ON quarantine (source_file, source_owner);
CREATE INDEX imports_source ON imports (source_file, source_owner);

-- The audit log is append-only, for every role: a change or removal is refused.
CREATE FUNCTION audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: its entries cannot be changed or removed';
END
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- Row-level security, enabled and forced (the owner too is held to the policies).
ALTER TABLE sites ENABLE ROW LEVEL SECURITY;
ALTER TABLE sites FORCE ROW LEVEL SECURITY;
ALTER TABLE footprints ENABLE ROW LEVEL SECURITY;
ALTER TABLE footprints FORCE ROW LEVEL SECURITY;
ALTER TABLE requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE requests FORCE ROW LEVEL SECURITY;
ALTER TABLE quarantine ENABLE ROW LEVEL SECURITY;
ALTER TABLE quarantine FORCE ROW LEVEL SECURITY;
ALTER TABLE imports ENABLE ROW LEVEL SECURITY;
ALTER TABLE imports FORCE ROW LEVEL SECURITY;
ALTER TABLE boundary_sets ENABLE ROW LEVEL SECURITY;
ALTER TABLE boundary_sets FORCE ROW LEVEL SECURITY;
ALTER TABLE places ENABLE ROW LEVEL SECURITY;
ALTER TABLE places FORCE ROW LEVEL SECURITY;
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;

-- Reading. A site, request or footprint: open, or restricted and of the viewer's own
-- agency (none for a viewer of no agency), or of the source a write transaction changes.
CREATE POLICY sites_read ON sites FOR SELECT USING (
    lower(btrim(coalesce(sensitivity, ''))) <> 'restricted'
    OR (agency_key <> '' AND agency_key = current_setting('assetmap.agency', true))
    OR owner_key = current_setting('assetmap.writer', true)
);
CREATE POLICY requests_read ON requests FOR SELECT USING (
    lower(btrim(coalesce(sensitivity, ''))) <> 'restricted'
    OR (agency_key <> '' AND agency_key = current_setting('assetmap.agency', true))
    OR owner_key = current_setting('assetmap.writer', true)
);
CREATE POLICY footprints_read ON footprints FOR SELECT USING (
    lower(btrim(sensitivity)) <> 'restricted'
    OR (agency_key <> '' AND agency_key = current_setting('assetmap.agency', true))
    OR owner_key = current_setting('assetmap.writer', true)
);
-- Quarantined rows hold raw register values: only their own agency's (none for no agency).
CREATE POLICY quarantine_read ON quarantine FOR SELECT USING (
    (owner_key <> '' AND owner_key = current_setting('assetmap.agency', true))
    OR owner_key = current_setting('assetmap.writer', true)
);
-- A source's log row, with its counts, hash and report, only to its own agency; every
-- source's name, owner, kind and time are listed to everyone through imports_listed.
CREATE POLICY imports_read ON imports FOR SELECT USING (
    owner_key = coalesce(current_setting('assetmap.agency', true), '')
    OR owner_key = current_setting('assetmap.writer', true)
);
CREATE POLICY boundary_sets_read ON boundary_sets FOR SELECT USING (true);
CREATE POLICY places_read ON places FOR SELECT USING (true);
CREATE POLICY audit_log_read ON audit_log FOR SELECT USING (
    agency_key = coalesce(current_setting('assetmap.agency', true), '')
);

-- Writing: only the rows of the owner the write transaction names.
CREATE POLICY sites_write ON sites FOR ALL
    USING (owner_key = current_setting('assetmap.writer', true))
    WITH CHECK (owner_key = current_setting('assetmap.writer', true));
CREATE POLICY footprints_write ON footprints FOR ALL
    USING (owner_key = current_setting('assetmap.writer', true))
    WITH CHECK (owner_key = current_setting('assetmap.writer', true));
CREATE POLICY requests_write ON requests FOR ALL
    USING (owner_key = current_setting('assetmap.writer', true))
    WITH CHECK (owner_key = current_setting('assetmap.writer', true));
CREATE POLICY quarantine_write ON quarantine FOR ALL
    USING (owner_key = current_setting('assetmap.writer', true))
    WITH CHECK (owner_key = current_setting('assetmap.writer', true));
CREATE POLICY imports_write ON imports FOR ALL
    USING (owner_key = current_setting('assetmap.writer', true))
    WITH CHECK (owner_key = current_setting('assetmap.writer', true));
CREATE POLICY boundary_sets_write ON boundary_sets FOR ALL
    USING (owner_key = current_setting('assetmap.writer', true))
    WITH CHECK (owner_key = current_setting('assetmap.writer', true));
CREATE POLICY places_write ON places FOR ALL
    USING (owner_key = current_setting('assetmap.writer', true))
    WITH CHECK (owner_key = current_setting('assetmap.writer', true));
CREATE POLICY audit_log_write ON audit_log FOR INSERT
    WITH CHECK (agency_key = coalesce(current_setting('assetmap.writer', true), ''));

-- The owner role (which runs the migrations, copies and backups) sees and keeps every row.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['sites', 'footprints', 'requests', 'quarantine', 'imports',
                             'boundary_sets', 'places', 'audit_log'] LOOP
        EXECUTE format('CREATE POLICY %I ON %I TO %I USING (true) WITH CHECK (true)',
                       t || '_owner', t, current_user);
    END LOOP;
END
$$;

-- The import log as every agency may see it (assetmap.access.visible_imports): every
-- source's name, owner, kind, time and file hash (which identifies a version of a source
-- and counts nothing: the engine still shows it only to its own agency); its agencies,
-- sectors, counts and report only to its own agency (another agency's accepted count
-- would count its restricted sites). A view of the owner's, which reads every row. The
-- local single user (no sign-in: the command line; assetmap.local) keeps every right,
-- as with a GeoPackage store, and is shown every source's counts (the engine still
-- shows them only to their own agency).
CREATE VIEW imports_listed WITH (security_barrier) AS
SELECT fid, source_file, source_owner, kind, format, layer, imported_at, owner_key,
       CASE WHEN own THEN agency END AS agency,
       CASE WHEN own THEN sector END AS sector,
       CASE WHEN own THEN rows_read END AS rows_read,
       CASE WHEN own THEN accepted END AS accepted,
       CASE WHEN own THEN quarantined END AS quarantined,
       source_sha256,
       CASE WHEN own THEN report_json END AS report_json
FROM (
    SELECT i.*, (
        i.owner_key = coalesce(current_setting('assetmap.agency', true), '')
        OR i.owner_key = current_setting('assetmap.writer', true)
        OR current_setting('assetmap.local', true) = 'on'
    ) AS own
    FROM imports i
) AS listed;

-- No statistics of the values in the data tables: under row-level security the planner
-- still uses a column's histogram and commonest values, so EXPLAIN's row estimates would
-- tell a withheld value by bisection. (Row counts stay: they are the same for everyone.)
DO $$
DECLARE
    col record;
BEGIN
    FOR col IN
        SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        WHERE c.relname IN ('sites', 'footprints', 'requests', 'quarantine', 'imports',
                            'boundary_sets', 'places', 'audit_log')
          AND c.relnamespace = current_schema()::regnamespace
          AND a.attnum > 0 AND NOT a.attisdropped
    LOOP
        EXECUTE format('ALTER TABLE %I ALTER COLUMN %I SET STATISTICS 0', col.relname, col.attname);
    END LOOP;
END
$$;
ALTER INDEX sites_postcode ALTER COLUMN 1 SET STATISTICS 0;

-- Shared-site groups span agencies, so a writer sets them through this function, owned
-- by the owner role: it changes only shared_group, and only on open sites (restricted
-- sites take no part in any group: assetmap.registers.shared_sites), skipping rows
-- another transaction holds (a source being replaced: the next settlement sees them).
CREATE FUNCTION set_shared_groups(fids bigint[], groups text[]) RETURNS integer
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH wanted AS (
        SELECT f.fid, f.grp FROM unnest(fids, groups) AS f(fid, grp)
    ), free AS (
        SELECT s.fid FROM sites s JOIN wanted w ON s.fid = w.fid
        WHERE lower(btrim(coalesce(s.sensitivity, ''))) <> 'restricted'
        FOR UPDATE OF s SKIP LOCKED
    ), changed AS (
        UPDATE sites s SET shared_group = w.grp FROM wanted w, free
        WHERE s.fid = w.fid AND s.fid = free.fid
        RETURNING 1
    )
    SELECT count(*)::integer FROM changed
$$;
REVOKE ALL ON FUNCTION set_shared_groups(bigint[], text[]) FROM PUBLIC;

INSERT INTO schema_version (version) VALUES (1);
