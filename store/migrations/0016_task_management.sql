-- The state team works tasks (issue 16): a task may be reassigned to a person or team, its due
-- date extended, or waived (closed, not completed); the escalation queue reads escalated open
-- tasks oldest escalation first. Numbered 0016 so it stays apart from the migrations other
-- branches add (0009, 0015).

ALTER TABLE tasks
    ADD COLUMN assignee      text,
    ADD COLUMN escalated_at  timestamptz,
    ADD COLUMN waived_at     timestamptz,
    ADD COLUMN waived_by     text,
    ADD COLUMN waived_reason text,
    DROP CONSTRAINT tasks_status_check,
    ADD CONSTRAINT tasks_status_check
        CHECK (status IN ('open', 'completed', 'withdrawn', 'waived'));

-- Tasks escalated before this migration: when, from their latest TaskEscalated event.
UPDATE tasks t SET escalated_at = e.at
FROM (SELECT stream_id, payload ->> 'task_id' AS task_id, max(occurred_at) AS at
      FROM events WHERE type = 'TaskEscalated' GROUP BY 1, 2) e
WHERE t.escalated AND t.stream_id = e.stream_id AND t.task_id = e.task_id;

CREATE INDEX tasks_escalation_queue ON tasks (escalated_at, task_id)
    WHERE escalated AND status = 'open';
