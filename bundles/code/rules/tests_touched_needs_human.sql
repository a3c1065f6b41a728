-- The commit-time twin of the tests_touched floor.
SELECT g.event_id
FROM gates g
WHERE g.task_id = :task AND g.role = 'final' AND g.status = 'approved'
  AND json_extract(g.decided_by, '$.kind') = 'policy'
  AND EXISTS (SELECT 1 FROM step_outputs o
              WHERE o.task_id = g.task_id AND o.step = 'diff'
                AND json_array_length(o.output, '$.details.testFiles') > 0)
