-- Least privilege: the application's role appends to and reads `events`, and may not change
-- them (store/privileges.py grants it exactly what the code does). A projection rebuild holds
-- appends back with a SHARE lock on `events` while it replays a page; that lock needs UPDATE,
-- DELETE or TRUNCATE on the table, which the application must not have, so the owner lends the
-- lock alone through this function (its caller's transaction keeps the lock until it ends).

CREATE FUNCTION hold_appends() RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    LOCK TABLE public.events IN SHARE MODE;
END;
$$;
REVOKE ALL ON FUNCTION hold_appends() FROM PUBLIC;
