-- gridbot schema, version 2: distinct households and roster coverage
-- (issue 9), kept at write time like the tallies so that reading them
-- costs the same with a thousand or a million reports. Reports saved
-- before this version are not household visits (their data has no
-- "household" flag): they count in no household counter, as in bbolt.

-- How many reports that are not void count a household (community/target)
-- in a metric ("visit", "visit.chronic"), per scope and period. A count
-- going 0→1 adds one to the tally <metric>.households of that scope and
-- period, 1→0 takes it out. Rows that reach zero are deleted.
CREATE TABLE household_visits (
    scope     text NOT NULL,
    household text NOT NULL,
    period    text NOT NULL,
    metric    text NOT NULL,
    n         bigint NOT NULL,
    PRIMARY KEY (scope, household, period, metric)
);

-- The roster (花名册): households a community imported, the grid each
-- belongs to and its tags (in data, the JSON of flows.Household).
CREATE TABLE roster (
    community text NOT NULL,
    household text NOT NULL,
    data      jsonb NOT NULL,
    PRIMARY KEY (community, household)
);

-- Coverage counters per roster scope (grid, community, all): the roster
-- stock (period ''), the roster households visited in each period, and
-- per year and chronic tag the follow-up visits and managed patients.
-- A counter is the sum of its rows over shard, as for tallies.
CREATE TABLE coverage (
    scope  text NOT NULL,
    period text NOT NULL,
    metric text NOT NULL,
    shard  smallint NOT NULL DEFAULT 0,
    n      bigint NOT NULL,
    PRIMARY KEY (scope, period, metric, shard)
);
