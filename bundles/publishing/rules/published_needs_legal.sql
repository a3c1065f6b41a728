-- A piece may only be marked done once the legal gate approved it.
SELECT t.id
FROM tasks t
WHERE t.id = :task
  AND t.status = 'done'
  AND NOT EXISTS (
    SELECT 1 FROM gates g
    WHERE g.task_id = t.id AND g.role = 'legal' AND g.status = 'approved'
  );
