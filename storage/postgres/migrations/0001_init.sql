-- gridbot schema, version 1: the bbolt store's records, one table each.
-- Each record's full form is kept in data (the JSON of the domain type);
-- the columns beside it are what queries, indexes and unique keys need.

CREATE TABLE workers (
    openid text PRIMARY KEY,
    data   jsonb NOT NULL
);

CREATE TABLE invites (
    code text PRIMARY KEY,
    data jsonb NOT NULL
);

CREATE SEQUENCE reports_id_seq;

CREATE TABLE reports (
    id         bigint PRIMARY KEY,
    msg_key    text UNIQUE,              -- the dedupe mark: NULL when the report has none
    worker     text NOT NULL,
    community  text NOT NULL,
    grid       text NOT NULL,
    day        text NOT NULL,            -- "2006-01-02"
    created_at timestamptz NOT NULL,
    void       boolean NOT NULL DEFAULT false,
    data       jsonb NOT NULL
);
CREATE INDEX reports_worker_id ON reports (worker, id);
CREATE INDEX reports_day_id ON reports (day, id);

-- Running totals in thousandths. A total is the sum of its rows over
-- shard (0-15): a report adds to the shard of its id, so concurrent saves
-- rarely wait for each other's lock on the busiest totals (scope "all").
CREATE TABLE tallies (
    scope  text NOT NULL,
    period text NOT NULL,
    metric text NOT NULL,
    shard  smallint NOT NULL DEFAULT 0,
    milli  bigint NOT NULL,
    PRIMARY KEY (scope, period, metric, shard)
);

CREATE SEQUENCE followups_id_seq;

CREATE TABLE followups (
    id        bigint PRIMARY KEY,
    key       text NOT NULL,
    worker    text NOT NULL,
    community text NOT NULL,
    grid      text NOT NULL,
    due       text NOT NULL,
    closed    boolean NOT NULL,
    data      jsonb NOT NULL
);
-- At most one open follow-up per key.
CREATE UNIQUE INDEX followups_open_key ON followups (key) WHERE NOT closed;
CREATE INDEX followups_open_due ON followups (due, id) WHERE NOT closed;
CREATE INDEX followups_open_worker ON followups (worker, due, id) WHERE NOT closed;
CREATE INDEX followups_open_community ON followups (community, due, id) WHERE NOT closed;

-- One digest per worker per day, however many nodes run the reminders.
CREATE TABLE digest_claims (
    day    text NOT NULL,
    worker text NOT NULL,
    at     timestamptz NOT NULL,
    PRIMARY KEY (day, worker)
);

CREATE TABLE digest_attempts (
    id      bigserial PRIMARY KEY,
    day     text NOT NULL,
    worker  text NOT NULL,
    at      timestamptz NOT NULL,
    channel text NOT NULL,
    errcode integer NOT NULL,
    data    jsonb NOT NULL
);
-- Makes a re-run of `gridbot migrate` add no attempt twice.
CREATE UNIQUE INDEX digest_attempts_once ON digest_attempts (day, worker, at, channel, errcode);

CREATE TABLE notices (
    openid text PRIMARY KEY,
    text   text NOT NULL,
    at     timestamptz NOT NULL
);

-- Scheduled digest runs done; the last run is the greatest day.
CREATE TABLE digest_runs (
    day text PRIMARY KEY,
    at  timestamptz NOT NULL
);
