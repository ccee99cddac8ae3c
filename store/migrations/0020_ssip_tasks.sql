-- The state team's SSIP tasks (issue 20): a yearly task to enter the SiMR actual, stakeholder
-- engagement or the reflection answers belongs to the initiative's SSIP, not to a site, so it has
-- no site, district or stage. A coordinator's inbox matches district_id, so it never lists them;
-- a state admin's lists every task. Numbered 0020 to stay apart from other branches' migrations.

ALTER TABLE tasks
    ALTER COLUMN site_id DROP NOT NULL,
    ALTER COLUMN district_id DROP NOT NULL,
    ALTER COLUMN stage DROP NOT NULL;
