-- assetmap PostGIS store, schema version 4: the space exchange's tables
-- (assetmap/store/interface.py EXCHANGE_LAYOUT), their row-level security, and
-- complete_match, the one move that writes two agencies' rows.
--
-- Each table has the interface's columns, `fid` (insertion order: rows are read oldest
-- first) and key columns computed by the store with assetmap.access.agency_key:
--   offers       owner_key (of `owner`, the site's source's owner), agency_key (of `agency`)
--   offer_sites  owner_key (of `source_owner`)
--   matches      holder_key, requester_key (of `holder` and `requester`)
--   amendments   owner_key (of `source_owner`), agency_key (of `agency`)
--   interest     agency_key (of `agency`)
--
-- Row-level security is the second wall behind the engine's disclosure rules
-- (assetmap/exchange, the design of issue 17):
--   offers       seen when marked open, or when the viewer may see the offer's site (its
--                offer_sites row joined to sites, both under the viewer's own row
--                security), or by its own agency; written only by its owner;
--   offer_sites  seen by whoever may see the site, and its owner; written by its owner;
--   matches      seen and written only by its two parties (holder and requester), and
--                moved only along the lifecycle (match_moves, the trigger matches_move);
--   amendments   seen and written only by the owner of the amended row's source (not by
--                whoever may see the row: a completed match's amendments name the match,
--                its parties and who completed it);
--   interest     seen by the interested agency and the offer's holder; written by the
--                interested agency.
-- Nothing is deleted: a withdrawn row keeps its state (the app's role may not DELETE).

CREATE TABLE offers (
    fid bigint GENERATED ALWAYS AS IDENTITY,
    "offer_id" text PRIMARY KEY,
    "kind" text,
    "owner" text,
    "agency" text,
    "sector" text,
    "sqft" double precision,
    "use" text,
    "available_from" text,
    "available_until" text,
    "terms" text,
    "contact" text,
    "open" text,
    "area" text,
    "state" text,
    "declared_on" text,
    "created_at" text,
    "created_by" text,
    "updated_at" text,
    "updated_by" text,
    "version" bigint NOT NULL,
    owner_key text NOT NULL,
    agency_key text NOT NULL
);

CREATE TABLE offer_sites (
    fid bigint GENERATED ALWAYS AS IDENTITY,
    "offer_id" text PRIMARY KEY,
    "site_id" text,
    "source_file" text,
    "source_owner" text,
    "version" bigint NOT NULL,
    owner_key text NOT NULL
);

CREATE TABLE matches (
    fid bigint GENERATED ALWAYS AS IDENTITY,
    "match_id" text PRIMARY KEY,
    "offer_id" text,
    "site_id" text,
    "site_file" text,
    "site_owner" text,
    "request_id" text,
    "request_file" text,
    "request_owner" text,
    "holder" text,
    "requester" text,
    "sqft" double precision,
    "state" text,
    "proposed_by" text,
    "note" text,
    "created_at" text,
    "created_by" text,
    "updated_at" text,
    "updated_by" text,
    "version" bigint NOT NULL,
    holder_key text NOT NULL,
    requester_key text NOT NULL
);

CREATE TABLE amendments (
    fid bigint GENERATED ALWAYS AS IDENTITY,
    "amendment_id" text PRIMARY KEY,
    "layer" text,
    "row_id" text,
    "source_file" text,
    "source_owner" text,
    "field" text,
    "old" text,
    "new" text,
    "agency" text,
    "by" text,
    "at" text,
    "reason" text,
    "state" text,
    "version" bigint NOT NULL,
    owner_key text NOT NULL,
    agency_key text NOT NULL
);

CREATE TABLE interest (
    fid bigint GENERATED ALWAYS AS IDENTITY,
    "interest_id" text PRIMARY KEY,
    "offer_id" text,
    "agency" text,
    "by" text,
    "at" text,
    "note" text,
    "version" bigint NOT NULL,
    agency_key text NOT NULL
);

-- What the reads and the policies look up (keys compared for equality: "C", as 0002).
CREATE INDEX offer_sites_site ON offer_sites (site_id COLLATE "C");
CREATE INDEX matches_offer ON matches (offer_id COLLATE "C");
CREATE INDEX amendments_row ON amendments (row_id COLLATE "C");
CREATE INDEX interest_offer ON interest (offer_id COLLATE "C");
-- (the requests of given ids, which complete_match looks up)
CREATE INDEX requests_request_id ON requests (request_id COLLATE "C");
-- At most one standing amendment of one field of one row: two moves made at once that
-- each read "none standing" cannot both write one (the store turns the second's
-- violation into a ConflictError). A new one replaces the standing one first.
CREATE UNIQUE INDEX amendments_standing ON amendments
    (layer, row_id, source_file, source_owner, field) WHERE state = 'standing';

ALTER TABLE offers ENABLE ROW LEVEL SECURITY;
ALTER TABLE offers FORCE ROW LEVEL SECURITY;
ALTER TABLE offer_sites ENABLE ROW LEVEL SECURITY;
ALTER TABLE offer_sites FORCE ROW LEVEL SECURITY;
ALTER TABLE matches ENABLE ROW LEVEL SECURITY;
ALTER TABLE matches FORCE ROW LEVEL SECURITY;
ALTER TABLE amendments ENABLE ROW LEVEL SECURITY;
ALTER TABLE amendments FORCE ROW LEVEL SECURITY;
ALTER TABLE interest ENABLE ROW LEVEL SECURITY;
ALTER TABLE interest FORCE ROW LEVEL SECURITY;

-- Reading. (A subquery of a policy is itself held to the viewer's row security: "the
-- viewer may see the site" is an EXISTS over sites as the viewer reads them.)
CREATE POLICY offer_sites_read ON offer_sites FOR SELECT USING (
    (owner_key <> '' AND owner_key = current_setting('assetmap.agency', true))
    OR owner_key = current_setting('assetmap.writer', true)
    OR EXISTS (
        SELECT 1 FROM sites s
        WHERE s.site_id COLLATE "C" = offer_sites.site_id
          AND s.source_file = offer_sites.source_file
          AND s.source_owner = offer_sites.source_owner
    )
);
CREATE POLICY offers_read ON offers FOR SELECT USING (
    "open" = 'yes'
    OR (agency_key <> '' AND agency_key = current_setting('assetmap.agency', true))
    OR (owner_key <> '' AND owner_key = current_setting('assetmap.agency', true))
    OR owner_key = current_setting('assetmap.writer', true)
    OR EXISTS (
        SELECT 1 FROM offer_sites o JOIN sites s
            ON s.site_id COLLATE "C" = o.site_id
           AND s.source_file = o.source_file
           AND s.source_owner = o.source_owner
        WHERE o.offer_id = offers.offer_id
    )
);
CREATE POLICY matches_read ON matches FOR SELECT USING (
    (holder_key <> '' AND holder_key IN (current_setting('assetmap.agency', true),
                                         current_setting('assetmap.writer', true)))
    OR (requester_key <> '' AND requester_key IN (current_setting('assetmap.agency', true),
                                                  current_setting('assetmap.writer', true)))
);
CREATE POLICY amendments_read ON amendments FOR SELECT USING (
    (owner_key <> '' AND owner_key = current_setting('assetmap.agency', true))
    OR owner_key = current_setting('assetmap.writer', true)
);
CREATE POLICY interest_read ON interest FOR SELECT USING (
    (agency_key <> '' AND agency_key IN (current_setting('assetmap.agency', true),
                                         current_setting('assetmap.writer', true)))
    OR EXISTS (  -- the offer's holder (its site's agency) or owner
        SELECT 1 FROM offers o
        WHERE o.offer_id = interest.offer_id
          AND ((o.agency_key <> '' AND o.agency_key = current_setting('assetmap.agency', true))
               OR (o.owner_key <> '' AND o.owner_key = current_setting('assetmap.agency', true)))
    )
);

-- Writing: offers, their sites and amendments by the owner of the site's (or request's)
-- source, as the estate's tables; a match by one of its parties; interest by its agency.
CREATE POLICY offers_write ON offers FOR ALL
    USING (owner_key = current_setting('assetmap.writer', true))
    WITH CHECK (owner_key = current_setting('assetmap.writer', true));
CREATE POLICY offer_sites_write ON offer_sites FOR ALL
    USING (owner_key = current_setting('assetmap.writer', true))
    WITH CHECK (owner_key = current_setting('assetmap.writer', true));
CREATE POLICY amendments_write ON amendments FOR ALL
    USING (owner_key = current_setting('assetmap.writer', true))
    WITH CHECK (owner_key = current_setting('assetmap.writer', true));
CREATE POLICY matches_write ON matches FOR ALL
    USING ((holder_key <> '' AND holder_key = current_setting('assetmap.writer', true))
           OR (requester_key <> '' AND requester_key = current_setting('assetmap.writer', true)))
    WITH CHECK ((holder_key <> '' AND holder_key = current_setting('assetmap.writer', true))
           OR (requester_key <> '' AND requester_key = current_setting('assetmap.writer', true)));
CREATE POLICY interest_write ON interest FOR ALL
    USING (agency_key <> '' AND agency_key = current_setting('assetmap.writer', true))
    WITH CHECK (agency_key <> '' AND agency_key = current_setting('assetmap.writer', true));

-- A match's lifecycle: each move's state before and after, and the party that may make it
-- (holder: the site's agency; requester: the request's). It mirrors MOVES of
-- assetmap/exchange/matches.py (tests/test_exchange_rls.py checks they agree).
CREATE FUNCTION match_moves() RETURNS TABLE (from_state text, to_state text, party text)
LANGUAGE sql IMMUTABLE AS $$
    VALUES ('proposed', 'offered', 'holder'), ('offered', 'accepted', 'requester'),
           ('accepted', 'completed', 'holder'), ('accepted', 'completed', 'requester'),
           ('proposed', 'declined', 'holder'), ('offered', 'declined', 'requester'),
           ('proposed', 'withdrawn', 'holder'), ('proposed', 'withdrawn', 'requester'),
           ('offered', 'withdrawn', 'holder'), ('offered', 'withdrawn', 'requester'),
           ('accepted', 'withdrawn', 'holder'), ('accepted', 'withdrawn', 'requester')
$$;

-- The write policy lets a party write its match; this trigger holds it to the lifecycle:
-- a new match is proposed at version 1 by one of its parties; a change is one move of
-- match_moves by the party it belongs to, at the stored version plus one, changing
-- nothing but the state, the note and who moved it when. Completing is complete_match's
-- alone. The owner role (complete_match, store copy) is not held to it. Refusals: AMX05.
CREATE FUNCTION _match_moved() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    writer text := coalesce(current_setting('assetmap.writer', true), '');
    parties text[] := ARRAY[]::text[];
    moved text[] := ARRAY['state', 'version', 'note', 'updated_at', 'updated_by'];
BEGIN
    IF current_user = (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = TG_RELID) THEN
        RETURN NEW;
    END IF;
    IF writer <> '' AND writer = NEW.holder_key THEN
        parties := parties || 'holder'::text;
    END IF;
    IF writer <> '' AND writer = NEW.requester_key THEN
        parties := parties || 'requester'::text;
    END IF;
    IF cardinality(parties) = 0 THEN
        RETURN NEW;  -- no party's: the write policy refuses it
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.state IS DISTINCT FROM 'proposed' OR NEW.version IS DISTINCT FROM 1 THEN
            RAISE EXCEPTION USING ERRCODE = 'AMX05', MESSAGE = format(
                'Match %s cannot be made so: a match starts as a proposal (at version 1); '
                'nothing changed.',
                NEW.match_id);
        END IF;
        RETURN NEW;
    END IF;
    IF to_jsonb(NEW) - moved IS DISTINCT FROM to_jsonb(OLD) - moved THEN
        RAISE EXCEPTION USING ERRCODE = 'AMX05', MESSAGE = format(
            'Match %s keeps its offer, site, request, agencies and space: a move changes only '
            'its state and note; nothing changed.', NEW.match_id);
    END IF;
    IF NEW.version IS DISTINCT FROM OLD.version + 1 OR NEW.state = 'completed' OR NOT EXISTS (
        SELECT 1 FROM match_moves() mv
        WHERE mv.from_state = OLD.state AND mv.to_state = NEW.state AND mv.party = ANY (parties)
    ) THEN
        RAISE EXCEPTION USING ERRCODE = 'AMX05', MESSAGE = format(
            'Match %s cannot go from %s to %s by your agency: the agency holding the space '
            'offers or declines a proposal, the agency asking for it accepts or declines the '
            'offer, either withdraws it, and completing it moves the space; nothing changed.',
            NEW.match_id, coalesce(OLD.state, 'no state'), coalesce(NEW.state, 'no state'));
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER matches_move BEFORE INSERT OR UPDATE ON matches
    FOR EACH ROW EXECUTE FUNCTION _match_moved();

-- The owner role (migrations, copies, backups, complete_match) sees and keeps every row.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['offers', 'offer_sites', 'matches', 'amendments', 'interest'] LOOP
        EXECUTE format('CREATE POLICY %I ON %I TO %I USING (true) WITH CHECK (true)',
                       t || '_owner', t, current_user);
    END LOOP;
END
$$;

-- No statistics of the values (as 0001): EXPLAIN's estimates would tell withheld values.
DO $$
DECLARE
    col record;
BEGIN
    FOR col IN
        SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        WHERE c.relname IN ('offers', 'offer_sites', 'matches', 'amendments', 'interest')
          AND c.relnamespace = current_schema()::regnamespace
          AND a.attnum > 0 AND NOT a.attisdropped
    LOOP
        EXECUTE format('ALTER TABLE %I ALTER COLUMN %I SET STATISTICS 0', col.relname, col.attname);
    END LOOP;
END
$$;

-- Completing a match moves space between two agencies' rows (the holder's site and offer,
-- the requester's request), which the write policies give no single writer: this function,
-- owned by the owner role, does exactly the move of EstateStore.complete_match, for a
-- writer that is one of the match's two parties, and nothing else. Its refusals carry
-- codes of their own, which the store turns into messages:
--   AMX01  not the writer's match (or no such match: the same, so a match's id tells
--          nobody else whether it exists)
--   AMX02  the match is not accepted at the version given (someone moved it first)
--   AMX03  the offer's site has less spare space left than the match moves
--   AMX04  the match's site or request is no longer in the store (a site is found only
--          among the holder's own, and for an offer made in assetmap only the offer's own
--          site: any other is "gone" too, so the function tells nothing of other sites)
--   AMX05  (the trigger matches_move: a match written outside its lifecycle)
-- Numbers are kept as text the way interface.value_text writes them (float8::text).
CREATE FUNCTION complete_match(p_match text, p_version bigint, p_by text, p_at text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    writer text := coalesce(current_setting('assetmap.writer', true), '');
    m matches%ROWTYPE;
    moved text;
    s_fid bigint;
    s_owner_key text;
    s_file text;
    s_owner text;
    s_site text;
    o_site text;
    o_file text;
    o_owner text;
    s_before double precision;
    s_after double precision;
    r_fid bigint;
    r_owner_key text;
    r_before double precision;
    r_after double precision;
BEGIN
    SELECT * INTO m FROM matches WHERE match_id = p_match FOR UPDATE;
    IF NOT FOUND OR writer = '' OR writer NOT IN (m.holder_key, m.requester_key) THEN
        RAISE EXCEPTION USING ERRCODE = 'AMX01', MESSAGE = format(
            'there is no match %s of your agency''s to complete: only the agency holding the '
            'space and the agency that asked for it may complete a match', p_match);
    END IF;
    IF m.state IS DISTINCT FROM 'accepted' OR m.version IS DISTINCT FROM p_version THEN
        BEGIN  -- when, as the store's messages give it (2026-04-01 10:02:11 UTC)
            moved := to_char(m.updated_at::timestamptz AT TIME ZONE 'UTC',
                             'YYYY-MM-DD HH24:MI:SS') || ' UTC';
        EXCEPTION WHEN others THEN
            moved := coalesce(nullif(m.updated_at, ''), 'an unknown time');
        END;
        RAISE EXCEPTION USING ERRCODE = 'AMX02', MESSAGE = format(
            'Match %s was %s by %s at %s; nothing changed.', p_match,
            coalesce(nullif(m.state, ''), 'changed'), coalesce(nullif(m.updated_by, ''), 'someone'),
            coalesce(moved, 'an unknown time'));
    END IF;
    -- the offer's site: the match's; for an offer made in assetmap (not a register's, "R"),
    -- its offer's (the match names none for an open offer on a restricted site), and a
    -- match naming another site than its offer's names none
    s_site := m.site_id; s_file := m.site_file; s_owner := m.site_owner;
    IF left(coalesce(m.offer_id, ''), 1) <> 'R' THEN
        SELECT o.site_id, o.source_file, o.source_owner INTO o_site, o_file, o_owner
        FROM offer_sites o WHERE o.offer_id = m.offer_id;
        IF coalesce(s_site, '') <> ''
           AND (s_site, s_file, s_owner) IS DISTINCT FROM (o_site, o_file, o_owner) THEN
            o_site := NULL;
        END IF;
        s_site := o_site; s_file := o_file; s_owner := o_owner;
    END IF;
    -- (serialised with an import of either source, as the store's _lock_source)
    PERFORM pg_advisory_xact_lock(
        hashtextextended(coalesce(s_owner, '') || chr(31) || coalesce(s_file, ''), 0));
    PERFORM pg_advisory_xact_lock(
        hashtextextended(m.request_owner || chr(31) || m.request_file, 0));
    SELECT fid, owner_key, surplus_sqft INTO s_fid, s_owner_key, s_before FROM sites
    WHERE site_id COLLATE "C" = s_site AND source_file COLLATE "C" = s_file
      AND source_owner COLLATE "C" = s_owner
      AND m.holder_key <> '' AND agency_key = m.holder_key  -- the holder's own sites only
    ORDER BY fid LIMIT 1 FOR UPDATE;
    SELECT fid, owner_key, space_needed_sqft INTO r_fid, r_owner_key, r_before FROM requests
    WHERE request_id COLLATE "C" = m.request_id AND source_file = m.request_file
      AND source_owner = m.request_owner
    ORDER BY fid LIMIT 1 FOR UPDATE;
    IF s_fid IS NULL OR r_fid IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'AMX04', MESSAGE = format(
            'The %s of match %s is no longer in the store (its register was imported again '
            'or removed); nothing changed.',
            CASE WHEN s_fid IS NULL THEN 'site' ELSE 'request' END, p_match);
    END IF;
    IF coalesce(s_before, 0) < m.sqft THEN
        RAISE EXCEPTION USING ERRCODE = 'AMX03', MESSAGE = format(
            'The offer of match %s has less spare space left than the %s sq ft the match '
            'moves; nothing changed.', p_match, m.sqft::text);
    END IF;
    r_after := greatest(coalesce(r_before, 0) - m.sqft, 0);
    s_after := s_before - m.sqft;

    UPDATE sites SET surplus_sqft = s_after WHERE fid = s_fid;
    UPDATE requests SET space_needed_sqft = r_after WHERE fid = r_fid;
    -- the match's own offer, unless a live offer of space (those come next): less the space
    UPDATE offers SET sqft = greatest(sqft - m.sqft, 0),
        state = CASE WHEN sqft - m.sqft <= 0 THEN 'taken' ELSE state END,
        updated_at = p_at, updated_by = p_by, version = version + 1
    WHERE offer_id = m.offer_id
      AND (kind IS DISTINCT FROM 'space' OR state IS DISTINCT FROM 'open');
    -- every live offer of space on the site offers what the site has spare (whichever
    -- offer the match was made on: the register's or another)
    UPDATE offers o SET sqft = greatest(s_after, 0),
        state = CASE WHEN s_after <= 0 THEN 'taken' ELSE o.state END,
        updated_at = p_at, updated_by = p_by, version = o.version + 1
    FROM offer_sites l
    WHERE l.offer_id = o.offer_id AND o.kind = 'space' AND o.state = 'open'
      AND l.site_id = s_site AND l.source_file = s_file AND l.source_owner = s_owner;
    PERFORM _record_completion('sites', s_site, s_file, s_owner, s_owner_key, 'surplus_sqft',
                               s_before, s_after, m.holder, m.holder_key, p_match,
                               p_by, p_at);
    PERFORM _record_completion('requests', m.request_id, m.request_file, m.request_owner,
                               r_owner_key, 'space_needed_sqft', r_before, r_after,
                               m.requester, m.requester_key, p_match, p_by, p_at);
    UPDATE matches SET state = 'completed', version = version + 1, updated_at = p_at,
        updated_by = p_by
    WHERE match_id = p_match;
END
$$;
REVOKE ALL ON FUNCTION complete_match(text, bigint, text, text) FROM PUBLIC;

-- One field of one row changed by a completed match: a standing amendment (replacing the
-- standing one of that field, whose register value it keeps, as assetmap.exchange._rows).
CREATE FUNCTION _record_completion(
    p_layer text, p_row text, p_file text, p_owner text, p_owner_key text, p_field text,
    p_before double precision, p_after double precision, p_agency text, p_agency_key text,
    p_match text, p_by text, p_at text
) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    register_value text;
BEGIN
    WITH replaced AS (
        UPDATE amendments SET state = 'replaced', version = version + 1
        WHERE state = 'standing' AND layer = p_layer AND row_id = p_row
          AND source_file = p_file AND source_owner = p_owner AND field = p_field
        RETURNING fid, old
    )
    SELECT old INTO register_value FROM replaced ORDER BY fid DESC LIMIT 1;
    INSERT INTO amendments (amendment_id, layer, row_id, source_file, source_owner, field,
                            old, new, agency, "by", "at", reason, state, version, owner_key,
                            agency_key)
    VALUES ('A' || left(replace(gen_random_uuid()::text, '-', ''), 16), p_layer, p_row,
            p_file, p_owner, p_field, coalesce(register_value, p_before::text, ''),
            coalesce(p_after::text, ''), p_agency, p_by, p_at,
            format('match %s completed', p_match), 'standing', 1, p_owner_key, p_agency_key);
END
$$;
REVOKE ALL ON FUNCTION _record_completion(text, text, text, text, text, text, double precision,
    double precision, text, text, text, text, text) FROM PUBLIC;

-- A store brought up to date by `store upgrade` (which names no app role) keeps its app
-- role's rights: every role that may read the sites now (the app's, granted by
-- init_store) is given the same rights on the exchange as a new store's (see
-- postgis_schema._grant). A new store has no such role yet: init_store grants them.
DO $$
DECLARE
    grantee text;
BEGIN
    FOR grantee IN
        SELECT DISTINCT g.grantee FROM information_schema.role_table_grants g
        WHERE g.table_schema = current_schema() AND g.table_name = 'sites'
          AND g.privilege_type = 'SELECT' AND g.grantee NOT IN (current_user, 'PUBLIC')
    LOOP
        EXECUTE format('GRANT SELECT, INSERT, UPDATE ON offers, offer_sites, matches, '
                       'amendments, interest TO %I', grantee);
        EXECUTE format('GRANT EXECUTE ON FUNCTION complete_match(text, bigint, text, text) '
                       'TO %I', grantee);
    END LOOP;
END
$$;
