-- Schema version 4: indexes for reading deliveries page by page, newest change first (the HTTP
-- API's `GET /api/v1/deliveries`, `deliveries_page` in queries.sql). A page is a backward walk of
-- (updated_at, key) from the cursor of the page before, whether or not a deadline is named, so it
-- costs the rows it returns, not the table. The first also serves what `deliveries_by_update` (on
-- updated_at alone) served, `recent` and `failures`: that one goes, one index less for every write
-- to keep up.

CREATE INDEX deliveries_page ON alertd.deliveries (updated_at, key);
CREATE INDEX deliveries_page_by_deadline ON alertd.deliveries (deadline_id, updated_at, key);
DROP INDEX alertd.deliveries_by_update;
