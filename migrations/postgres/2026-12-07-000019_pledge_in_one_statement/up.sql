-- A pledge is written in one statement (src/db/pledge_statement.rs): the tier's claim, the
-- campaign's totals, the pledge and what goes with it, as data-modifying parts of one query that
-- runs as its own transaction. When a condition refuses (the tier sold out, the campaign closed),
-- part of it may already have written; the statement then ends by calling this function, whose
-- error rolls all of it back. A function, because PostgreSQL evaluates a constant that cannot be
-- computed (a failing cast) when it plans the query, not when the condition is reached.
CREATE FUNCTION pledge_refused() RETURNS BIGINT LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RAISE EXCEPTION 'pledge refused by a condition of its statement' USING ERRCODE = 'P0001';
END
$$;
