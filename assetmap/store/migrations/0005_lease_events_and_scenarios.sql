-- assetmap PostGIS store, schema version 5: the sites' lease events (issue 19) and the
-- scenarios users save (assetmap/store/interface.py SCENARIO_COLUMNS).
--
-- Lease events: the next and last breaks, the rent review (ISO dates as text, '' when
-- unknown, as lease_expiry), the notice a break needs (months), the break penalty and
-- the capital value (pounds). A store brought up to date has them empty on every site
-- until each source is imported again.
ALTER TABLE sites ADD COLUMN "next_break" text;
ALTER TABLE sites ADD COLUMN "last_break" text;
ALTER TABLE sites ADD COLUMN "rent_review" text;
ALTER TABLE sites ADD COLUMN "notice_months" double precision;
ALTER TABLE sites ADD COLUMN "break_penalty_gbp" double precision;
ALTER TABLE sites ADD COLUMN "capital_value_gbp" double precision;

-- Scenarios: a named list of moves, its author and agency. `owner_key` is the key of
-- `owner` (the agency that saved it, access.agency_key). Names are unique per owner.
CREATE TABLE scenarios (
    fid bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    "name" text NOT NULL,
    "author" text,
    "agency" text,
    "created_at" text,
    "moves" text,
    "shared" text,
    "owner" text NOT NULL,
    owner_key text NOT NULL
);
ALTER TABLE scenarios ENABLE ROW LEVEL SECURITY;
ALTER TABLE scenarios FORCE ROW LEVEL SECURITY;
-- Read: its own agency's (none for a viewer of no agency), the shared ones (no move names
-- a restricted site: the engine decides when it saves, and also drops, whatever the flag
-- says, a scenario naming a site its viewer may not see), and the local single user's.
CREATE POLICY scenarios_read ON scenarios FOR SELECT USING (
    coalesce("shared", '') = 'yes'
    OR (owner_key <> '' AND owner_key = current_setting('assetmap.agency', true))
    OR owner_key = current_setting('assetmap.writer', true)
    OR current_setting('assetmap.local', true) = 'on'
);
-- Write: only the rows of the owner the write transaction names.
CREATE POLICY scenarios_write ON scenarios FOR ALL
    USING (owner_key = current_setting('assetmap.writer', true))
    WITH CHECK (owner_key = current_setting('assetmap.writer', true));
CREATE POLICY scenarios_owner ON scenarios TO CURRENT_USER USING (true) WITH CHECK (true);

-- As 0001: no statistics of the values (EXPLAIN's estimates would tell a withheld value).
ALTER TABLE sites ALTER COLUMN "next_break" SET STATISTICS 0;
ALTER TABLE sites ALTER COLUMN "last_break" SET STATISTICS 0;
ALTER TABLE sites ALTER COLUMN "rent_review" SET STATISTICS 0;
ALTER TABLE sites ALTER COLUMN "notice_months" SET STATISTICS 0;
ALTER TABLE sites ALTER COLUMN "break_penalty_gbp" SET STATISTICS 0;
ALTER TABLE sites ALTER COLUMN "capital_value_gbp" SET STATISTICS 0;
DO $$
DECLARE
    col record;
BEGIN
    FOR col IN
        SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        WHERE c.relname = 'scenarios' AND c.relnamespace = current_schema()::regnamespace
          AND a.attnum > 0 AND NOT a.attisdropped
    LOOP
        EXECUTE format('ALTER TABLE scenarios ALTER COLUMN %I SET STATISTICS 0', col.attname);
    END LOOP;
END
$$;

-- A store brought up to date keeps its app role's rights (as 0004): every role that may
-- read the sites now is given the app's rights on the scenarios.
DO $$
DECLARE
    grantee text;
BEGIN
    FOR grantee IN
        SELECT DISTINCT g.grantee FROM information_schema.role_table_grants g
        WHERE g.table_schema = current_schema() AND g.table_name = 'sites'
          AND g.privilege_type = 'SELECT' AND g.grantee NOT IN (current_user, 'PUBLIC')
    LOOP
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON scenarios TO %I', grantee);
    END LOOP;
END
$$;
