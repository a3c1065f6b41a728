-- Accepted means no blocking finding is open: a person's approval settles the open ones
-- (accepted_by_human), the policy resolver only approves when none is open.
SELECT f.id
FROM tasks t JOIN findings f ON f.task_id = t.id
WHERE t.id = :task AND t.status = 'done'
  AND f.status = 'open' AND f.severity = 'blocking'
