-- The commit-time twin of the checks_not_green floor: a final gate the policy approved
-- while the latest checks were not all ok or skipped.
SELECT g.event_id
FROM gates g
WHERE g.task_id = :task AND g.role = 'final' AND g.status = 'approved'
  AND json_extract(g.decided_by, '$.kind') = 'policy'
  AND (SELECT json_extract(o.output, '$.status') FROM step_outputs o
       WHERE o.task_id = g.task_id AND o.step IN ('checks', 'final_checks') AND o.tick <= g.decided_tick
       ORDER BY o.tick DESC LIMIT 1) NOT IN ('ok', 'skipped')
