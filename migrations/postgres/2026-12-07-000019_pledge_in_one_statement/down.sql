DROP FUNCTION pledge_refused();
