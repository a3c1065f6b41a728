-- The commit-time twin of the empty_diff floor.
SELECT g.event_id
FROM gates g
WHERE g.task_id = :task AND g.role = 'final' AND g.status = 'approved'
  AND json_extract(g.decided_by, '$.kind') = 'policy'
  AND (SELECT json_extract(o.output, '$.details.empty') FROM step_outputs o
       WHERE o.task_id = g.task_id AND o.step = 'diff' AND o.tick <= g.decided_tick
       ORDER BY o.tick DESC LIMIT 1) = 1
