-- Nothing is committed on the task's branch before the final gate approved the change.
SELECT o.unit
FROM step_outputs o
WHERE o.task_id = :task AND o.step = 'deliver'
  AND NOT EXISTS (SELECT 1 FROM gates g WHERE g.task_id = o.task_id AND g.role = 'final' AND g.status = 'approved')
