-- assetmap PostGIS store, schema version 3: set_shared_groups changes only the sites near
-- the writer's own change.
--
-- Schema 1's set_shared_groups runs as the owner (shared groups span agencies, and the
-- write policies give a writer only its own rows), and it set the group of ANY open site:
-- the app's role, writing as Agency B, could change Agency A's rows through it. A site's
-- group depends only on the sites that share its UPRN or its postcode
-- (assetmap.registers.shared_sites), so a change can alter the group only of a site that
-- shares a UPRN or a (compact) postcode with a row the change brought or removed; the
-- store settles exactly those (assetmap.store.postgis._settle). The function now accepts a
-- (fid, group) only for such a site: one that shares a non-empty UPRN or compact postcode
-- with a row of the writer's own now in `sites` (owner_key = assetmap.writer, as the write
-- policies compare it), or with a row this transaction deleted.
--
-- The deleted rows' keys cannot be taken from the caller (the app's role makes and fills
-- its own temporary tables): a statement trigger on `sites`, running as the owner, keeps
-- the keys of every row a DELETE removes, with the id of the transaction that removed
-- them, in `shared_group_removals`, a table only the owner may read or write. The
-- function reads only the current transaction's rows of it. A transaction that rolls
-- back takes its rows with it; the trigger forgets those of transactions that have
-- finished (every row it can see of another transaction is a committed one's, since
-- another's uncommitted rows are invisible to it).
--
-- A refused site is skipped, as a restricted site or one another transaction holds
-- (SKIP LOCKED) always was: the count returned is of the sites changed. So the answer
-- tells the caller nothing of a row beyond whether it could change it, and a refusal
-- looks like a locked row, which the store must accept anyway. The store's own
-- settlement never meets a refusal: it sends only sites sharing a key with its source's
-- rows now or with the rows its transaction deleted, a subset of those accepted here.
-- A group that is neither '' nor "G" and 16 hexadecimal digits (what
-- assetmap.registers.ids.stable_ids gives) is the caller's own mistake, not a row's
-- state: the call raises, naming it.

CREATE UNLOGGED TABLE shared_group_removals (
    xact xid8 NOT NULL,
    uprn text,
    pc text
);
ALTER TABLE shared_group_removals ENABLE ROW LEVEL SECURITY;
ALTER TABLE shared_group_removals FORCE ROW LEVEL SECURITY;
DO $$
BEGIN
    EXECUTE format('CREATE POLICY shared_group_removals_owner ON shared_group_removals TO %I '
                   'USING (true) WITH CHECK (true)', current_user);
END
$$;
REVOKE ALL ON shared_group_removals FROM PUBLIC;
ALTER TABLE shared_group_removals ALTER COLUMN uprn SET STATISTICS 0;
ALTER TABLE shared_group_removals ALTER COLUMN pc SET STATISTICS 0;

CREATE FUNCTION note_removed_sites() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    -- forget the rows of finished transactions (those another writer is forgetting skipped)
    DELETE FROM shared_group_removals WHERE ctid = ANY (ARRAY(
        SELECT ctid FROM shared_group_removals WHERE xact <> pg_current_xact_id()
        FOR UPDATE SKIP LOCKED
    ));
    -- (every removed row's keys, repeats too: a DISTINCT costs more than the rows it saves,
    -- 2.4 s against 1.4 s for a million-site removal)
    INSERT INTO shared_group_removals (xact, uprn, pc)
    SELECT pg_current_xact_id(), nullif(uprn, ''), nullif(postcode_key, '')
    FROM removed_sites
    WHERE uprn <> '' OR postcode_key <> '';
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION note_removed_sites() FROM PUBLIC;
CREATE TRIGGER sites_removed AFTER DELETE ON sites
    REFERENCING OLD TABLE AS removed_sites
    FOR EACH STATEMENT EXECUTE FUNCTION note_removed_sites();

-- CREATE OR REPLACE keeps the function's grants (the app role's EXECUTE), so a store
-- brought up to date by `store upgrade` needs no new grant.
-- (jit off: the planner, which has no statistics of the estate's columns, prices the
-- probes of a few sites high enough to compile them, which takes longer than running them.)
CREATE OR REPLACE FUNCTION set_shared_groups(fids bigint[], groups text[]) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp SET jit = off AS $$
DECLARE
    problems text[] := ARRAY[]::text[];
    bad text[];
    changed integer;
BEGIN
    IF cardinality(fids) IS DISTINCT FROM cardinality(groups) THEN
        problems := problems || format(
            'the list of sites holds %s and the list of groups %s, which must be as long',
            coalesce(cardinality(fids), 0), coalesce(cardinality(groups), 0));
    END IF;
    SELECT array_agg(DISTINCT coalesce(quote_literal(left(g, 40)), 'none'))
    INTO bad
    FROM unnest(groups) AS g
    WHERE g IS NULL OR (g <> '' AND g !~ '^G[0-9a-f]{16}$');
    IF bad IS NOT NULL THEN
        problems := problems || format(
            'a shared-site group is either empty or G followed by 16 hexadecimal digits '
            '(such as G0123456789abcdef); %s given', array_to_string(bad[1:5], ', '));
    END IF;
    IF cardinality(problems) > 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'the shared-site groups were not set: '
                      || array_to_string(problems, '; ');
    END IF;

    -- (The nearness tests are OR'ed subqueries, so each runs as a probe of an index per
    -- site, never a scan of every site: a settlement sends a few sites, an estate holds
    -- millions. COLLATE "C": the collation of the indexes of 0002_site_ids.sql; equality
    -- is the same in every deterministic collation.)
    WITH wanted AS (
        SELECT f.fid, f.grp FROM unnest(fids, groups) AS f(fid, grp)
    ), removed AS (  -- the keys of the rows this transaction deleted (the trigger's)
        SELECT r.uprn, r.pc FROM shared_group_removals r
        WHERE r.xact = pg_current_xact_id_if_assigned()
    ), free AS (
        SELECT s.fid FROM sites s JOIN wanted w ON s.fid = w.fid
        -- restricted sites take no part in any group
        WHERE lower(btrim(coalesce(s.sensitivity, ''))) <> 'restricted'
        AND (  -- near: a UPRN or postcode of the writer's rows, now or removed
            (s.uprn <> '' AND (
                EXISTS (SELECT 1 FROM sites m WHERE m.uprn COLLATE "C" = s.uprn
                        AND m.owner_key = current_setting('assetmap.writer', true))
                OR s.uprn IN (SELECT uprn FROM removed)))
            OR (s.postcode_key <> '' AND (
                EXISTS (SELECT 1 FROM sites m WHERE m.postcode_key COLLATE "C" = s.postcode_key
                        AND m.owner_key = current_setting('assetmap.writer', true))
                OR s.postcode_key IN (SELECT pc FROM removed)))
        )
        FOR UPDATE OF s SKIP LOCKED
    ), done AS (
        UPDATE sites s SET shared_group = w.grp FROM wanted w, free
        WHERE s.fid = w.fid AND s.fid = free.fid
        RETURNING 1
    )
    SELECT count(*)::integer INTO changed FROM done;
    RETURN changed;
END
$$;
REVOKE ALL ON FUNCTION set_shared_groups(bigint[], text[]) FROM PUBLIC;
