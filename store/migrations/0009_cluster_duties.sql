-- Duties that one process of the cluster performs for all of them (the full sync, the observer),
-- each held by one work holder at a time. A duty whose holder was retired or fell silent is taken
-- over by the next replica that asks for it, by the same rule as a lease (see `work_holders`).
--
-- duty: the duty's name; holder: the work holder performing it; claimed_at: milliseconds since the
-- Unix epoch when that holder took it over.
CREATE TABLE cluster_duties (
    duty TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    claimed_at BIGINT NOT NULL
);
